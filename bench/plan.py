"""What ``bench/run.py`` measures: every (library, figure, set-up) and how many jobs.

Job counts are chosen so that each measurement lasts a second or more at the rates seen on
a 2-core machine (RQ's forking set-ups and arq's polling workers are slow, hence their
smaller counts); ``--quick`` divides them by 10, down to a floor.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Task:
    lib: str
    group: str  # the table rows it feeds: enqueue, bulk, drain, fork, latency, async
    figure: str  # bench/workload.py's figure: enqueue, bulk, drain, latency, async
    n: int
    setup: str = ""
    label: str = ""  # the set-up as the table names it

    def size(self, quick: bool) -> int:
        if not quick:
            return self.n
        return min(self.n, max(self.n // 10, FLOORS[self.figure]))


# A drain needs enough jobs that most run after the slower-starting process has begun.
# The async figure is issue 16's: 1,000 jobs of 0.1 s at concurrency 100, quick or not.
FLOORS = {"enqueue": 200, "bulk": 500, "drain": 1000, "latency": 20, "async": 1000}
GROUPS = ["enqueue", "bulk", "drain", "fork", "latency", "async"]


def _lib(lib: str, *tasks: tuple[str, str, int, str, str]) -> list[Task]:
    return [Task(lib, group, figure, n, setup, label) for group, figure, n, setup, label in tasks]


TASKS = [
    *_lib(
        "minirq",
        ("enqueue", "enqueue", 10000, "", ""),
        ("bulk", "bulk", 30000, "", "enqueue_many"),
        ("drain", "drain", 20000, "pool", "pool of 2"),
        ("drain", "drain", 20000, "two_simple", "2 in-process"),
        ("fork", "drain", 500, "fork", "Worker"),
        ("latency", "latency", 100, "fork", "forking Worker"),
        ("latency", "latency", 200, "simple", "in-process"),
        ("async", "async", 1000, "async_worker", "async worker"),
    ),
    *_lib(
        "rq",
        ("enqueue", "enqueue", 5000, "", ""),
        ("bulk", "bulk", 15000, "", "enqueue_many"),
        ("drain", "drain", 400, "pool", "WorkerPool of 2"),
        ("drain", "drain", 2000, "two_simple", "2 SimpleWorkers"),
        ("fork", "drain", 200, "fork", "Worker"),
        ("latency", "latency", 100, "fork", "Worker (default)"),
        ("latency", "latency", 200, "simple", "SimpleWorker"),
    ),
    *_lib(
        "huey",
        ("enqueue", "enqueue", 15000, "", ""),
        ("drain", "drain", 20000, "processes", "2 processes"),
        ("latency", "latency", 200, "default", "default (1 thread)"),
    ),
    *_lib(
        "dramatiq",
        ("enqueue", "enqueue", 8000, "", ""),
        ("bulk", "bulk", 8000, "", "group().run()"),
        ("drain", "drain", 20000, "processes", "2 processes x 8 threads"),
        ("latency", "latency", 100, "default", "1 process x 8 threads"),
    ),
    *_lib(
        "celery",
        ("enqueue", "enqueue", 2000, "", ""),
        ("bulk", "bulk", 2000, "", "group().apply_async()"),
        ("drain", "drain", 3000, "prefork", "prefork 2"),
        ("latency", "latency", 100, "default", "default (prefork)"),
    ),
    *_lib(
        "arq",
        ("enqueue", "enqueue", 5000, "", ""),
        ("drain", "drain", 1500, "two_workers", "2 workers"),
        ("drain", "drain", 3000, "two_workers_tuned", "2 workers, poll 10 ms"),
        ("latency", "latency", 40, "default", "default (poll 0.5 s)"),
        ("latency", "latency", 100, "tuned", "poll 10 ms"),
        ("async", "async", 1000, "async100", "default poll"),
        ("async", "async", 1000, "async100_tuned", "poll 10 ms"),
    ),
    *_lib(
        "saq",
        ("enqueue", "enqueue", 5000, "", ""),
        ("drain", "drain", 8000, "processes", "2 processes"),
        ("latency", "latency", 100, "default", "default (1 process)"),
        ("async", "async", 1000, "async100", "1 process"),
    ),
]


def schedule(libs: list[str], repeats: int) -> list[tuple[int, Task]]:
    """Every task of ``libs``, ``repeats`` times: one group after another, each group
    running every library in turn, starting with a different library each time so that a
    drift in the machine's load favours none."""
    order: list[tuple[int, Task]] = []
    for rep in range(repeats):
        for index, group in enumerate(GROUPS):
            shift = (rep + index) % len(libs)
            for lib in libs[shift:] + libs[:shift]:
                order += [(rep, t) for t in TASKS if t.lib == lib and t.group == group]
    return order
