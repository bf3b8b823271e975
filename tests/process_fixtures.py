"""Job functions for tests/test_process_behaviour.py (importable by work-horses)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from minirq import get_current_job
from minirq.store.record import text_or_none


def my_worker_record() -> list[str]:
    """The state and job that this job's worker's record shows while the job runs."""
    job = get_current_job()
    assert job is not None and job.worker_name is not None
    state, current = job.connection.hmget(job.keys.worker(job.worker_name), ["state", "job"])
    return [text_or_none(state) or "", text_or_none(current) or ""]


def progress_across_an_outage(folder: str, wait_to_return: bool) -> str:
    """Report progress, then again (and save meta) once the test has stopped Redis."""
    job = get_current_job()
    assert job is not None
    place = Path(folder)
    job.set_progress(0.25, "a quarter")
    (place / "started").touch()
    _wait_for(place / "redis-down")
    job.set_progress(0.5, "half")
    job.meta["note"] = "kept"
    job.save_meta()
    (place / "progressed").touch()
    if wait_to_return:
        _wait_for(place / "return")
    return "done"


def _wait_for(path: Path) -> None:
    while not path.exists():
        time.sleep(0.02)


def zombie_children(pid: int) -> list[int]:
    """The children of ``pid`` that have exited but were not reaped (``<defunct>``)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        # Fields after the command name (in parentheses): state, then the parent's pid.
        state, parent = text.rpartition(")")[2].split()[:2]
        if int(parent) == pid and state == "Z":
            found.append(int(stat.parent.name))
    return found


# Three jobs meet here: only an executor running three at once gets them all past it.
MEETING = threading.Barrier(3, timeout=30)


def meet(n: int) -> int:
    MEETING.wait()
    return n
