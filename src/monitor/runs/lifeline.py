"""Stopping a run: SIGTERM stops it within seconds, and no child outlives the run.

SIGTERM is what ``timeout``, systemd and Prefect workers send. ``stop_on_sigterm`` turns
it into ``RunStopped`` in the main thread, so the writer's session unwinds, records the
run as 'stopped' and closes the warehouse; page tasks see ``stopping()`` and return
between pages. Threads stuck in a socket read or a politeness sleep cannot be
interrupted, so the process ends itself STOP_GRACE_SECONDS after the signal whatever is
still running: everything committed is safe by then (a batch is one transaction, the
same guarantee as a kill -9).

Children (the temporary Prefect API server, a process pool's forkserver and workers, a
local Dask cluster) are not ours to stop one by one: ``watch_children`` starts a small
watchdog process that learns this process's descendants every WATCH_INTERVAL_SECONDS
and, when this process dies, however (exit, SIGTERM, kill -9), kills them. Linux tells
it through ``prctl(PR_SET_PDEATHSIG)``; elsewhere the watchdog polls for its parent.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

__all__ = ["RunStopped", "stop_on_sigterm", "stopping", "wait_unless_stopping", "sigterm_stays_ours",
           "finish_before_stopping", "release_frames", "watch_children", "die_with_parent", "STOP_GRACE_SECONDS", "WATCH_INTERVAL_SECONDS"]

#: After SIGTERM, the process ends itself this long after the signal: enough for the writer
#: to roll back or commit its batch and record the stop (milliseconds), short enough for
#: `timeout` and systemd (whose default before SIGKILL is 90 s) and an operator.
STOP_GRACE_SECONDS = 5.0
#: How often the watchdog relearns the descendants: a child started less than this before
#: a kill -9 may be missed (the pools and the server start at the beginning of a run).
WATCH_INTERVAL_SECONDS = 0.5
_PR_SET_PDEATHSIG = 1
_STOP = threading.Event()
#: The handlers of the stop_on_sigterm blocks open now (main thread), innermost last.
_HANDLERS: list[Callable[[int, FrameType | None], None]] = []
#: Main-thread blocks that finish before a stop (finish_before_stopping): how deep we are
#: in them, and whether a SIGTERM came meanwhile and waits for the outermost one to end.
_SHIELD = {"depth": 0, "pending": 0}


class RunStopped(KeyboardInterrupt):
    """Raised in the main thread on SIGTERM (a KeyboardInterrupt: libraries unwind for it)."""


def stopping() -> bool:
    """True once SIGTERM asked this process to stop: long loops return early."""
    return _STOP.is_set()


def wait_unless_stopping(seconds: float) -> bool:
    """Sleep ``seconds``, or less if SIGTERM comes meanwhile; True if it did (a wait to cut short)."""
    return _STOP.wait(seconds)


def _end_now(last_words: Callable[[], None]) -> None:
    last_words()
    sys.stderr.flush()
    os._exit(128 + signal.SIGTERM)


@contextmanager
def stop_on_sigterm(grace: float = STOP_GRACE_SECONDS,
                    last_words: Callable[[], None] = lambda: None) -> Iterator[None]:
    """Within the block, SIGTERM raises RunStopped and ends the process ``grace`` s later,
    calling ``last_words`` first (the caller's one line, should unwinding not reach it).

    An error leaving the block after the signal is the stop too, and leaves as RunStopped:
    a signal that lands while DuckDB runs a query in this thread interrupts the query, and
    DuckDB raises its own "Query interrupted" instead (1 stop in 6 through Prefect did).
    """
    def handler(signum: int, frame: FrameType | None) -> None:
        if _STOP.is_set():
            return  # a second SIGTERM: the first is already being handled
        _STOP.set()
        timer = threading.Timer(grace, _end_now, args=(last_words,))
        timer.daemon = True
        timer.start()
        if _SHIELD["depth"]:
            _SHIELD["pending"] = 1  # raised when the block ends (finish_before_stopping)
            return
        raise RunStopped(f"stopped by signal {signal.Signals(signum).name}")

    previous = signal.signal(signal.SIGTERM, handler)
    _HANDLERS.append(handler)
    try:
        yield
    except Exception as exc:
        if not _STOP.is_set():
            raise
        raise RunStopped("stopped by signal SIGTERM") from exc
    finally:
        _HANDLERS.remove(handler)
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def finish_before_stopping() -> Iterator[None]:
    """Within the block (main thread), SIGTERM waits for the block to end, then raises RunStopped.

    For a writer's DuckDB work: a signal that lands while DuckDB runs a query in the main
    thread interrupts the query, and DuckDB raises its own "Query interrupted", not ours;
    through Prefect that was a failed flow that took 6-11 s to unwind, in 4 stops of 6.
    The block is one batch's save, milliseconds to seconds; the grace timer still bounds it.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _SHIELD["depth"] += 1
    try:
        yield
    finally:
        _SHIELD["depth"] -= 1
    if _SHIELD["depth"] == 0 and _SHIELD["pending"]:
        _SHIELD["pending"] = 0
        raise RunStopped("stopped by signal SIGTERM")


@contextmanager
def sigterm_stays_ours() -> Iterator[None]:
    """Within the block, SIGTERM stops the run as ``stop_on_sigterm`` says, whoever took it over since.

    Prefect's flow engine installs its own SIGTERM handler for a flow's duration: it raises
    its TerminationSignal, which the run recorded as 'failed', while page tasks, never told
    to stop, fetched to the end of their batches (4.5 s, and the grace timer ended the
    process). A no-op outside a ``stop_on_sigterm`` block (a flow run by a Prefect worker
    keeps Prefect's handling: its cancellations come that way) and off the main thread.
    """
    if not _HANDLERS or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _HANDLERS[-1])
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def release_frames(exc: BaseException) -> None:
    """Clear the variables of the finished frames ``exc`` (and what it chains) passed through.

    Prefect keeps a stopped flow's Crashed state, whose result is the RunStopped and whose
    traceback holds the flow's frames, hence the run's session and its DuckDB connection,
    until the interpreter's last moments; DuckDB's bindings then print some fifty "nanobind:
    leaked instance" lines on stderr. Cleared, the connection goes when its last user does.
    """
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        traceback.clear_frames(current.__traceback__)  # frames still running are left as they are
        todo += [current.__cause__, current.__context__]


def die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent dies (a pool worker's initializer)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


@contextmanager
def watch_children() -> Iterator[None]:
    """Within the block, a watchdog kills this process's descendants if this process dies.

    Leaving the block normally, or by an error this process survives, releases the
    watchdog (its stdin closes while we live: it ends without killing anything). Leaving
    by RunStopped keeps it: the process is about to end itself with children still up.
    """
    watchdog = subprocess.Popen([sys.executable, "-m", "monitor.runs.lifeline", str(os.getpid())],
                                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, start_new_session=True)
    released = False
    try:
        yield
        released = True
    except RunStopped:
        raise
    except BaseException:
        released = True
        raise
    finally:
        if released and watchdog.stdin is not None:
            watchdog.stdin.close()  # it ends by itself; not waited for (subprocess reaps it later)


def _children_of() -> dict[int, list[int]]:
    """Every process's children, from /proc (Linux); empty elsewhere."""
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else []:
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # ended while we looked
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def _descendants(pid: int, tree: dict[int, list[int]]) -> list[int]:
    found, todo = [], [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _watch(parent: int) -> None:
    """The watchdog's loop: learn the parent's descendants; when it is gone, kill them."""
    released = threading.Event()
    # SIGTERM (the parent's death signal, below, or anyone's) must not end us: we are what
    # kills the children. The handler does nothing, and above all takes no lock: it had
    # set an Event, whose lock the main thread may hold inside its own wait on that Event
    # when the signal lands, and the watchdog then waited on itself forever, leaving the
    # children of a killed run alive (1 kill -9 in ~10 in the lifeline test, seen in CI).
    signal.signal(signal.SIGTERM, lambda _s, _f: None)

    def read_stdin() -> None:
        sys.stdin.buffer.read()  # EOF: released by a living parent, or the parent died
        released.set()

    threading.Thread(target=read_stdin, daemon=True).start()
    die_signal = signal.SIGTERM
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, die_signal, 0, 0, 0)
    me = os.getpid()
    known: list[int] = []
    while True:
        if os.getppid() != parent:  # reparented: the parent died (or died before prctl)
            break
        found = [p for p in _descendants(parent, _children_of()) if p != me]
        # A parent killed during the scan has had its children reparented away: the scan
        # then sees none of them, and the last complete list must be kept to kill them.
        if os.getppid() == parent:
            known = found
        # Woken early when our stdin closes (the parent let us go, or died); a parent
        # that dies otherwise is seen at the next turn, WATCH_INTERVAL_SECONDS later.
        if released.wait(WATCH_INTERVAL_SECONDS):
            # A dying parent closes its files (our stdin) before it is reparented away: look
            # again a moment later, and go quietly only if it is still there.
            time.sleep(WATCH_INTERVAL_SECONDS)
            if os.getppid() == parent:
                return  # the run ended and let us go: nothing to kill
            break
    # Known descendants and whatever they started since.
    tree = _children_of()
    for pid in known + [d for p in known for d in _descendants(p, tree)]:
        if pid != me:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass  # already gone


if __name__ == "__main__":
    _watch(int(sys.argv[1]))
