"""prefect.yaml: every deployment points at a flow that imports and accepts its parameters,
the schedules are the ones promised, and the digest deployment runs end to end on a
local Prefect server with a process worker."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import typing
import urllib.request
from zoneinfo import ZoneInfo
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.settings import PROJECT_ROOT
from warehouse_helpers import add_tag, operator_env

PREFECT_YAML = PROJECT_ROOT / "prefect.yaml"
CONFIG = yaml.safe_load(PREFECT_YAML.read_text(encoding="utf-8"))
DEPLOYMENTS = {d["name"]: d for d in CONFIG["deployments"]}

# Parameters other people's code relies on (the CLI, the schedules, the docs); flows may
# have more.
CONTRACT: dict[str, dict[str, Any]] = {
    "ingest": {"sources_path": str | None, "db_path": str | None, "respect_poll_minutes": bool,
               "writer_wait": float | None},
    "digest": {"week": str | None, "db_path": str | None, "out_dir": str | None, "fmt": str},
    "retag": {"db_path": str | None, "force": bool},
    "reextract": {"db_path": str | None, "force": bool},
    "maintain": {"db_path": str | None, "retention_days": int | None},
}


def load_flow(entrypoint: str) -> Any:
    from prefect.flows import load_flow_from_entrypoint

    path, _, _ = entrypoint.partition(":")
    assert (PROJECT_ROOT / path).exists(), f"{entrypoint}: {path} does not exist (yet?)"
    return load_flow_from_entrypoint(str(PROJECT_ROOT / entrypoint))


def test_prefect_yaml_declares_ingest_digest_retag_reextract_and_maintain_on_the_local_pool() -> None:
    assert sorted(DEPLOYMENTS) == ["digest", "ingest", "maintain", "reextract", "retag"]
    assert {d["work_pool"]["name"] for d in DEPLOYMENTS.values()} == {"local-pool"}


def test_schedules_are_quarter_hourly_ingest_weekly_digest_and_manual_retag_and_reextract() -> None:
    assert DEPLOYMENTS["ingest"]["schedules"] == [{"cron": "*/15 * * * *", "timezone": "UTC"}]
    # Every 15 minutes, each source only when its own poll_minutes have passed.
    assert DEPLOYMENTS["ingest"]["parameters"]["respect_poll_minutes"] is True
    # A digest's rollup refresh or a run still ending holds the writer lock for a while:
    # the scheduled run waits for it instead of failing.
    assert DEPLOYMENTS["ingest"]["parameters"]["writer_wait"] >= 300
    assert DEPLOYMENTS["digest"]["schedules"] == [{"cron": "0 7 * * 1", "timezone": "Europe/Belgrade"}]
    assert not DEPLOYMENTS["retag"].get("schedules")
    assert not DEPLOYMENTS["reextract"].get("schedules")
    assert DEPLOYMENTS["maintain"]["schedules"] == [{"cron": "30 3 * * 0", "timezone": "UTC"}]  # the lake's upkeep


@pytest.mark.parametrize("name", sorted(DEPLOYMENTS))
def test_deployment_entrypoint_imports_and_its_parameters_fit_the_flow(name: str) -> None:
    spec = DEPLOYMENTS[name]
    flow = load_flow(spec["entrypoint"])
    hints = typing.get_type_hints(flow.fn)
    hints.pop("return", None)
    assert {k: hints.get(k) for k in CONTRACT[name]} == CONTRACT[name], f"{name}: flow signature changed"
    params = spec.get("parameters") or {}
    assert set(params) <= set(hints), f"{name}: prefect.yaml passes unknown parameters"
    flow.validate_parameters(params)  # raises on a type mismatch


def test_serve_builds_the_digest_deployment_from_prefect_yaml(tmp_path: Path) -> None:
    from flows.serve import build_deployments

    only_digest = dict(CONFIG, deployments=[DEPLOYMENTS["digest"]])
    config = tmp_path / "prefect.yaml"
    config.write_text(yaml.safe_dump(only_digest), encoding="utf-8")
    [dep] = build_deployments(config)
    assert dep.name == "digest"
    assert dep.parameters == {"week": None, "db_path": None, "out_dir": None, "fmt": "md"}
    [schedule] = dep.schedules
    assert (schedule.schedule.cron, schedule.schedule.timezone) == ("0 7 * * 1", "Europe/Belgrade")


def test_serve_builds_every_deployment_of_prefect_yaml() -> None:
    from flows.serve import build_deployments

    assert sorted(d.name for d in build_deployments()) == sorted(DEPLOYMENTS)


# --------------------------------------------------------------------------- end to end


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _api(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as r:  # loopback only
        return json.loads(r.read())


def _scheduled_starts(api: str, deadline: float) -> dict[str, list[datetime]]:
    """Deployment name -> start times of its SCHEDULED flow runs, once the scheduler made some."""
    while True:
        names = {d["id"]: d["name"] for d in _post(f"{api}/deployments/filter", {})}
        runs = _post(f"{api}/flow_runs/filter", {"flow_runs": {"state": {"type": {"any_": ["SCHEDULED"]}}}})
        out: dict[str, list[datetime]] = {}
        for r in runs:
            if r.get("deployment_id") in names and r.get("expected_start_time"):
                out.setdefault(names[r["deployment_id"]], []).append(
                    datetime.fromisoformat(r["expected_start_time"].replace("Z", "+00:00")))
        if ("ingest" in out and "digest" in out) or time.monotonic() > deadline:
            return out
        time.sleep(1)


def _post(url: str, body: dict[str, Any]) -> Any:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as r:  # loopback only
        return json.loads(r.read())


def _run(args: list[str], env: dict[str, str], timeout: float = 60) -> str:
    done = subprocess.run(args, env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _sample_warehouse(path: Path) -> None:
    from monitor.storage.warehouse import connect, refresh_rollups

    con = connect(path)
    at = datetime(2026, 11, 3, 10, tzinfo=UTC)
    con.execute(
        "INSERT INTO articles (id, source, url, title, published_at, date_confidence, fetched_at, relevant) "
        "VALUES ('a1', 'wire', 'https://wire.example/a1', 'Pantsir systems land in Serbia', ?, 'high', ?, true)",
        [at, at],
    )
    add_tag(con, "a1", "theme:arms_transfers", 1, "Pantsir", "1")
    refresh_rollups(con)
    con.close()


@pytest.mark.slow
def test_deployments_are_scheduled_and_the_digest_runs_on_a_local_server_with_a_process_worker(tmp_path: Path) -> None:
    prefect = str(Path(sys.executable).with_name("prefect"))
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PREFECT_HOME=str(tmp_path / "prefect-home"),
        PREFECT_API_URL=api,
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
        PREFECT_LOGGING_LEVEL="WARNING",
        # The scheduler service would wait a minute before its first pass.
        PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS="2",
        # Only runs already due are picked up by --run-once (never the next scheduled ingest).
        PREFECT_WORKER_PREFETCH_SECONDS="0",
    )
    db, out = tmp_path / "w.duckdb", tmp_path / "out"
    _sample_warehouse(db)
    server_log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        [prefect, "server", "start", "--host", "127.0.0.1", "--port", str(port), "--analytics-off"],
        env=env, cwd=tmp_path, stdout=server_log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                _api(f"{api}/health")
                break
            except OSError:
                assert server.poll() is None, (tmp_path / "server.log").read_text()
                assert time.monotonic() < deadline, "Prefect server did not start in 60 s"
                time.sleep(0.5)
        _run([prefect, "work-pool", "create", "local-pool", "--type", "process"], env)
        _run([prefect, "--no-prompt", "deploy", "--all"], env)
        params = json.dumps({"week": "2026-W45", "db_path": str(db), "out_dir": str(out), "fmt": "html"})
        started = _run([prefect, "deployment", "run", "digest/digest", "--params", params], env)
        run_id = next(w for w in started.replace("'", " ").split() if len(w) == 36 and w.count("-") == 4)
        _run([prefect, "worker", "start", "--pool", "local-pool", "--run-once"], env, timeout=90)
        state = _api(f"{api}/flow_runs/{run_id}")["state"]
        assert state["type"] == "COMPLETED", state
        page = (out / "digest-2026-W45.html").read_text(encoding="utf-8")
        assert "Pantsir systems land in Serbia" in page
        # On schedule: the server's scheduler has queued the quarter-hourly ingest and the Monday digest.
        starts = _scheduled_starts(api, deadline=time.monotonic() + 30)
        ingest = sorted(starts["ingest"])
        assert len(ingest) >= 3 and all(t.minute % 15 == 0 and t.second == 0 for t in ingest)
        assert all((b - a).total_seconds() == 900 for a, b in zip(ingest, ingest[1:]))
        belgrade = ZoneInfo("Europe/Belgrade")
        digest = [t.astimezone(belgrade) for t in starts["digest"]]
        assert digest and all(t.weekday() == 0 and (t.hour, t.minute) == (7, 0) for t in digest)
        assert "retag" not in starts and "reextract" not in starts
    finally:
        os.killpg(server.pid, signal.SIGINT)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        server_log.close()


def _readme_block(marker: str) -> str:
    """The first ```sh block of README.md after the line containing ``marker``."""
    text = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("```sh\n", text.index(marker)) + len("```sh\n")
    return text[start:text.index("```", start)]


@pytest.mark.slow
def test_the_readme_scheduling_steps_run_an_ingest_and_the_digest_on_a_server_and_a_worker(tmp_path: Path) -> None:
    """The README's server-and-worker block, run as written by bash from the checkout's root.

    Only the port differs (4200 may be taken on a shared machine), and the environment is
    an operator's: no PREFECT_* but a private PREFECT_HOME, and the MONITOR_* settings the
    README says to export before starting the worker (here: the loopback corpus).
    """
    from monitor.demo.corpus_server import CorpusServer, corpus_sources

    block = _readme_block("**A Prefect server and a worker**")
    assert "export PREFECT_API_URL=http://127.0.0.1:4200/api" in block and ".venv/bin/prefect worker start" in block
    port = _free_port()
    script = block.replace("4200", str(port))
    api = f"http://127.0.0.1:{port}/api"
    db = tmp_path / "w.duckdb"
    logs = [PROJECT_ROOT / "prefect-server.log", PROJECT_ROOT / "prefect-worker.log"]
    left_alone = {p for p in logs if p.exists()} | set((PROJECT_ROOT / "out").glob("digest-*.md"))
    with CorpusServer() as corpus:
        outlets = [s for s in corpus_sources(corpus.base_url) if s.name in ("balkanwatch", "dunavinfo")]
        sources = tmp_path / "my-sources.yaml"
        sources.write_text(yaml.safe_dump({"sources": [{"name": s.name, "url": s.url} for s in outlets]}),
                           encoding="utf-8")
        env = operator_env(tmp_path / "prefect-home", MONITOR_SOURCES=str(sources), MONITOR_DB=str(db),
                           MONITOR_ALLOW_PRIVATE_HOSTS="127.0.0.1", MONITOR_PER_HOST_DELAY="0")
        shell = subprocess.Popen(["bash", "-e", "-c", script], cwd=PROJECT_ROOT, env=env, start_new_session=True,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            output, _ = shell.communicate(timeout=300)
            assert shell.returncode == 0, output
            deadline = time.monotonic() + 300
            while True:
                names = {d["id"]: d["name"] for d in _post(f"{api}/deployments/filter", {})}
                runs = _post(f"{api}/flow_runs/filter", {})
                states = {names.get(r.get("deployment_id")): r["state"]["type"] for r in runs
                          if r["state"]["type"] not in ("SCHEDULED",)}
                if states.get("ingest") == "COMPLETED" and states.get("digest") == "COMPLETED":
                    break
                assert "FAILED" not in states.values() and "CRASHED" not in states.values(), (
                    states, (PROJECT_ROOT / "prefect-worker.log").read_text(errors="replace")[-3000:])
                assert time.monotonic() < deadline, (states, output)
                time.sleep(2)
            # The digest deployment wrote its file where the README says: out/ of the checkout.
            written = set((PROJECT_ROOT / "out").glob("digest-*.md")) - left_alone
            assert len(written) == 1, written
        finally:
            try:
                os.killpg(shell.pid, signal.SIGINT)  # the server and the worker, as Ctrl-C would
                time.sleep(5)
                os.killpg(shell.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            shell.wait()
            for p in [*logs, *(PROJECT_ROOT / "out").glob("digest-*.md")]:
                if p not in left_alone:
                    p.unlink(missing_ok=True)
    from monitor.storage.warehouse import connect

    con = connect(db, read_only=True)
    try:
        stored = con.execute("SELECT DISTINCT source FROM articles WHERE kind = 'article' ORDER BY 1").fetchall()
    finally:
        con.close()
    assert stored == [("balkanwatch",), ("dunavinfo",)]
