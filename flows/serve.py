"""Serve every deployment of prefect.yaml from this process (``monitor serve``): no server setup.

The schedules and parameters are read from prefect.yaml, so the embedded way and the
worker way (``prefect deploy``) run the same deployments.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import yaml
from prefect import Flow, serve
from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron, Interval, Schedule

__all__ = ["PREFECT_YAML", "build_deployments", "serve_all"]

PREFECT_YAML = Path(__file__).resolve().parent.parent / "prefect.yaml"


def _schedule(spec: dict[str, Any]) -> Schedule:
    if "cron" in spec:
        return Cron(spec["cron"], timezone=spec.get("timezone"))
    if "interval" in spec:
        return Interval(spec["interval"], timezone=spec.get("timezone"))
    raise ValueError(f"Unsupported schedule in prefect.yaml: {spec}")


def build_deployments(prefect_yaml: Path = PREFECT_YAML) -> list[RunnerDeployment]:
    """One runner deployment per entry of prefect.yaml, with its schedules and parameters."""
    config = yaml.safe_load(prefect_yaml.read_text(encoding="utf-8"))
    deployments = []
    for spec in config["deployments"]:
        # "flows/ingest.py:ingest" -> module flows.ingest (flows/ is an installed package), so
        # the runner knows the flow's file; loading the file by path loses it.
        path, _, name = spec["entrypoint"].partition(":")
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        flow: Flow[Any, Any] = getattr(module, name)
        deployment = flow.to_deployment(
            name=spec["name"],
            description=spec.get("description"),
            tags=spec.get("tags"),
            parameters=spec.get("parameters") or {},
            schedules=[_schedule(s) for s in spec.get("schedules") or []],
        )
        assert isinstance(deployment, RunnerDeployment)  # called outside an event loop: not a coroutine
        deployments.append(deployment)
    return deployments


def serve_all(prefect_yaml: Path = PREFECT_YAML) -> None:
    """Serve every deployment until interrupted (Ctrl-C)."""
    serve(*build_deployments(prefect_yaml))


if __name__ == "__main__":
    serve_all()
