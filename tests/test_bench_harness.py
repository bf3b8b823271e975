"""The benchmark harness's own logic (bench/): its schedule, the marks its jobs leave, the
load arithmetic and the report's comparisons. The benchmark itself runs by hand."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))

import machine  # noqa: E402
import plan  # noqa: E402
import report  # noqa: E402
import run  # noqa: E402
import workload  # noqa: E402
from peers import base  # noqa: E402


def test_schedule_runs_every_task_once_per_repeat_and_rotates_who_goes_first() -> None:
    libs = ["minirq", "rq", "huey"]
    order = plan.schedule(libs, 3)
    mine = [t for t in plan.TASKS if t.lib in libs]
    for rep in range(3):
        assert sorted(map(repr, (t for r, t in order if r == rep))) == sorted(map(repr, mine))
    firsts = {
        (rep, group): next(t.lib for r, t in order if r == rep and t.group == group)
        for rep in range(3)
        for group in ("enqueue", "drain")
    }
    assert len({firsts[rep, "enqueue"] for rep in range(3)}) == 3
    assert all(firsts[rep, "enqueue"] != firsts[rep, "drain"] for rep in range(3))


def test_quick_sizes_are_smaller_but_never_below_the_floor_or_above_the_full_size() -> None:
    for task in plan.TASKS:
        quick = task.size(quick=True)
        assert quick <= task.size(quick=False)
        assert quick >= min(task.n, plan.FLOORS[task.figure])


def test_marks_count_lines_across_partial_reads_and_tell_processes_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "marks"
    path.write_bytes(b"")
    monkeypatch.setenv(base.SIGNAL_ENV, str(path))
    by_pid = workload.Marks(str(path), "pid")
    by_parent = workload.Marks(str(path), "ppid")
    base.mark()
    with path.open("ab") as out:
        out.write(b"4242 1\n4243 ")  # a second process, its line cut in the middle
    assert by_pid.poll() == 2 and by_parent.poll() == 2
    with path.open("ab") as out:
        out.write(b"1\n")
    assert by_pid.poll() == 3
    assert by_pid.identities == {str(os.getpid()).encode(), b"4242", b"4243"}
    assert by_parent.poll() == 3
    assert by_parent.identities == {str(os.getppid()).encode(), b"1"}


def test_other_processes_cpu_is_the_machines_busy_time_less_our_own() -> None:
    start = machine.LoadSample(wall=0.0, busy=100.0, own=10.0, loadavg="")
    end = machine.LoadSample(wall=10.0, busy=112.0, own=14.0, loadavg="")
    others, share = machine.others_share(start, end)
    assert others == pytest.approx(8.0)
    assert share == pytest.approx(8.0 / (10.0 * machine.CORES))
    # Our own accounting can run ahead of /proc/stat's ticks: never a negative share.
    assert machine.others_share(start, machine.LoadSample(10.0, 101.0, 14.0, ""))[0] == 0.0


def _results() -> report.Results:
    return {
        ("minirq", "drain", "pool", "pool of 2"): {"rate": [900.0, 1000.0, 1100.0]},
        ("minirq", "drain", "two_simple", "2 in-process"): {"rate": [3000.0, 3100.0, 2900.0]},
        ("rq", "drain", "pool", "WorkerPool of 2"): {"rate": [100.0, 90.0, 110.0]},
        ("rq", "drain", "two_simple", "2 SimpleWorkers"): {"rate": [400.0, 410.0, 390.0]},
        ("huey", "drain", "processes", "2 processes"): {"rate": [2000.0, 2100.0, 1900.0]},
        ("arq", "drain", "two_workers", "2 workers"): {"rate": [300.0, 310.0, 290.0]},
    }


def test_ratios_compare_like_set_ups_with_rq_and_the_best_set_up_of_other_peers() -> None:
    lines = report.ratios_table(_results(), ["minirq", "rq", "huey"], {
        "minirq": "minirq", "rq": "RQ", "huey": "huey"
    })  # fmt: skip
    drain = next(line for line in lines if line.startswith("| drain"))
    # RQ: pool against pool (10x), in-process against SimpleWorkers (7.5x).
    assert "pool of 2 10.00x; 2 in-process 7.50x" in drain
    # huey has one set-up: both of minirq's are compared with it.
    assert "pool of 2 0.50x; 2 in-process 1.50x" in drain


def test_aims_take_the_best_peer_other_than_rq_and_say_whether_each_is_met() -> None:
    lines = report.aims_table(_results())
    pool = next(line for line in lines if line.startswith("| pool of 2"))
    assert "(huey 2 processes)" in pool and "| 0.50 | ≥ 1.50 | no |" in pool
    inproc = next(line for line in lines if line.startswith("| 2 in-process"))
    assert "| 1.50 | ≥ 2.00 | no |" in inproc


def test_figures_table_gives_median_and_spread_and_a_dash_where_a_library_has_none() -> None:
    results = _results()
    results["minirq", "bulk", "", "enqueue_many"] = {"rate": [10.0, 30.0, 20.0]}
    lines = report.figures_table(results, ["minirq", "huey"], {"minirq": "m", "huey": "h"})
    bulk = next(line for line in lines if line.startswith("| bulk"))
    assert bulk == "| bulk enqueue (jobs/s) | 20.0 (10.0-30.0) | — |"


def test_launcher_workers_wait_at_the_barrier_until_every_instance_is_ready(
    tmp_path: Path,
) -> None:
    marks_path = tmp_path / "marks"
    marks_path.write_bytes(b"")
    code = "from peers.base import barrier, mark; barrier(); mark()"
    setup = base.Setup([sys.executable, "-c", code], processes=2, instances=2, barrier=True)
    workers = workload.Workers(setup, "redis://127.0.0.1:1/0", str(marks_path))
    marks = workload.Marks(str(marks_path))
    try:
        ready = Path(workers.go + ".ready")
        while not ready.exists() or len(ready.read_text().split()) < 2:
            workers.check()
            time.sleep(0.005)
        # Both are ready and none has passed the barrier: nothing ran yet.
        assert marks.poll() == 0
        workers.release()
        while marks.poll() < 2:
            time.sleep(0.005)
        assert len(marks.identities) == 2
    finally:
        for proc in workers.procs:
            proc.wait(30)
        workers.stop()
        marks.close()


def test_no_ratio_against_a_library_that_keeps_nothing_per_job() -> None:
    results = {
        ("minirq", "drain", "pool", "pool of 2"): {"bytes": [560.0, 570.0, 565.0]},
        ("huey", "drain", "processes", "2 processes"): {"bytes": [-1.2, -1.4, 8.7]},
    }
    lines = report.ratios_table(results, ["minirq", "huey"], {"minirq": "m", "huey": "h"})
    assert next(line for line in lines if line.startswith("| Redis bytes")).endswith("| — |")


@pytest.mark.parametrize("value", ["0", "-2"])
def test_a_repeat_below_one_is_refused(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["run.py", "--repeat", value])
    with pytest.raises(SystemExit) as refused:
        run.parse_args()
    assert refused.value.code == 2


def test_the_async_job_marks_its_start_and_end_and_the_aim_compares_with_the_best_peer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    path = tmp_path / "marks"
    path.write_bytes(b"")
    monkeypatch.setenv(base.SIGNAL_ENV, str(path))
    monkeypatch.setattr(base, "ASYNC_SLEEP_S", 0)
    monkeypatch.setattr(base, "_fd_pid", -1)  # a descriptor opened on this test's file
    enqueued = time.time()
    asyncio.run(base.sleep_job(enqueued))
    start, end = path.read_text().splitlines()
    kind, at, started = workload._fields(start, 3)
    assert (kind, float(at)) == ("S", enqueued) and float(started) >= enqueued
    assert workload._fields(end, 2)[0] == "E"
    results: report.Results = {
        ("minirq", "async", "async_worker", "async worker"): {"rate": [900.0]},
        ("arq", "async", "async100", "default poll"): {"rate": [300.0]},
        ("saq", "async", "async100", "1 process"): {"rate": [500.0]},
    }
    (aim,) = [line for line in report.aims_table(results) if "issue 16:" in line]
    assert "saq 1 process" in aim and "| 1.80 |" in aim and aim.endswith("| yes |")
