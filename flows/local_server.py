"""Prefect as the command line uses it: quiet, and on a temporary server that survives a busy machine.

Two things every `monitor` command that runs a flow needs, in one place:

- ``quiet_prefect()``: an operator's terminal shows the run's own lines, not Prefect's
  internals (its server's "Subscription queue is full" warnings, "Error flushing" events,
  CancelledError tracebacks at shutdown, telemetry errors offline).
- ``ensure_api()``: without PREFECT_API_URL, Prefect starts a temporary API server in a
  subprocess and gives it 20 s. On a loaded 2-core machine that is not enough (the demo
  died with a 40-line "Timed out while attempting to connect to ephemeral Prefect API
  server"). We start that same server ourselves: with TEMPORARY_SERVER_STARTUP_SECONDS,
  retried once, in its own session (a Ctrl-C in the terminal reaches only `monitor`, which
  then stops the server: `monitor serve` used to lose its API at the first Ctrl-C and go on
  printing tracebacks), and with its output in a log file instead of the terminal. If it
  still does not start, one line says what happened and what to do.
"""

from __future__ import annotations

import atexit
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import IO, Any

from monitor.exceptions import PrefectUnavailableError

__all__ = ["SERVER_LOG_NAME", "TEMPORARY_SERVER_STARTUP_SECONDS", "ensure_api", "quiet_prefect"]

#: Seconds the temporary server may take to answer, per attempt, unless
#: PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS says otherwise. Idle, it answers in 6 s
#: (12 s on a new database, FACTS.md). On the 2-core machine shared by eight test suites
#: (load 9-15) it took 30 s (53 s on a new database), and 69 s (84 s) with two more
#: processes spinning: Prefect's 20 s default failed there, and twice the worst seen holds.
TEMPORARY_SERVER_STARTUP_SECONDS = 180
#: Where the temporary server's own output goes, in PREFECT_HOME.
SERVER_LOG_NAME = "monitor-temporary-server.log"
#: Prefect's loggers that speak about Prefect itself, never about the run: muted for the
#: command line (errors that matter reach `monitor` as exceptions and are printed once).
_INTERNAL_LOGGERS = ("prefect", "prefect._internal", "prefect.events", "prefect.client", "prefect.server",
                     "prefect.flow_runs", "prefect.task_runs", "prefect.task_engine", "prefect.flow_engine",
                     "prefect.runner", "prefect.deployments", "prefect.workers", "uvicorn", "fastapi")
#: Prefect's background services log under their class names, outside "prefect" (3.8.8:
#: services.py, logging.getLogger(type(self).__name__)), so the root logger's console
#: handler printed "WARNING | EventsWorker - Still processing items: 15 items remaining..."
#: when a stopped run exited with events unsent.
_SERVICE_LOGGERS = ("EventsWorker", "APILogWorker")
_STARTUP_TIMEOUT_VARIABLE = "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"


def quiet_prefect() -> None:
    """Keep Prefect's own messages out of the terminal; call before Prefect is imported.

    The environment is read by Prefect at import and by the processes it starts (the
    temporary server, process-pool and Dask workers); the logger levels cover a Prefect
    already imported.
    """
    # Offline machines: no telemetry (else the server logs errors), no tracking.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    # The temporary server's own messages go to its log file (ensure_api), not here.
    for variable in ("PREFECT_LOGGING_LEVEL", "PREFECT_INTERNAL_LOGGING_LEVEL"):
        os.environ.setdefault(variable, "CRITICAL")
    # A local Dask cluster (--task-runner dask) logged ~30 INFO lines to the terminal a run
    # (scheduler, nannies, every connection): errors only, in this process and its workers.
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "error")
    if "distributed" in sys.modules:
        logging.getLogger("distributed").setLevel(logging.ERROR)
    if "prefect" in sys.modules:
        for name in _INTERNAL_LOGGERS:
            logging.getLogger(name).setLevel(logging.CRITICAL)
    for name in _SERVICE_LOGGERS:  # Prefect's logging setup leaves these loggers' levels alone
        logging.getLogger(name).setLevel(logging.CRITICAL)


def _startup_timeout() -> int:
    value = os.environ.get(_STARTUP_TIMEOUT_VARIABLE, "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else TEMPORARY_SERVER_STARTUP_SECONDS


def _server_class() -> type[Any]:
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import get_current_settings

    class QuietTemporaryServer(SubprocessASGIServer):
        """Prefect 3.8.8's temporary server, started in its own session with its output in a file."""

        log_file: IO[bytes] | None = None

        def _run_uvicorn_command(self) -> subprocess.Popen[Any]:
            # The command and environment of SubprocessASGIServer._run_uvicorn_command (3.8.8),
            # plus start_new_session and the log file.
            import prefect

            log_path = Path(get_current_settings().home) / SERVER_LOG_NAME
            log_path.parent.mkdir(parents=True, exist_ok=True)
            if self.log_file is None:
                self.log_file = log_path.open("ab")
            return subprocess.Popen(
                args=[sys.executable, "-m", "uvicorn", "--app-dir", str(prefect.__module_path__.parent),
                      "--factory", "prefect.server.api.server:create_app", "--host", "127.0.0.1",
                      "--port", str(self.port), "--log-level", "error", "--lifespan", "on"],
                env={**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1",
                     "PREFECT__SERVER_FINAL": "1",
                     **get_current_settings().to_environment_variables(exclude_unset=True)},
                stdout=self.log_file, stderr=subprocess.STDOUT, start_new_session=True,
            )

    return QuietTemporaryServer


def ensure_api() -> str | None:
    """The URL of a Prefect API for this process and the processes it starts.

    None when one is configured (PREFECT_API_URL, or a test harness). Otherwise a temporary
    local server is started (retried once), PREFECT_API_URL is exported for worker
    processes, and the server stops when this process exits. Raises PrefectUnavailableError
    with what to do when it does not start.
    """
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import get_current_settings

    if os.environ.get("PREFECT_API_URL") or get_current_settings().api.url:
        return None
    running = SubprocessASGIServer._instances.get(None)
    if running is not None and running.running:
        return str(running.api_url)
    timeout = _startup_timeout()
    log_path = Path(get_current_settings().home) / SERVER_LOG_NAME
    cls = _server_class()
    for _attempt in (1, 2):
        server = cls()  # the instance Prefect's own client finds and reuses (one per process)
        try:
            server.start(timeout=timeout)
        except RuntimeError:
            server.stop()  # the timed-out process may still be starting: end it before the retry
            continue
        atexit.register(server.stop)
        os.environ["PREFECT_API_URL"] = server.api_url
        return str(server.api_url)
    raise PrefectUnavailableError(
        f"the temporary Prefect server did not start within {timeout} s, twice (a busy machine?; its log: "
        f"{log_path}). Run the command again when the machine is quieter, give it longer with "
        f"{_STARTUP_TIMEOUT_VARIABLE}=300, or start a Prefect server and export PREFECT_API_URL "
        "(README, Scheduled deployments)"
    )
