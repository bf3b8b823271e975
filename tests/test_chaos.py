"""A CI-sized chaos run: real workers and work-horses SIGKILLed, Redis killed and restarted.

The harness is bench/chaos.py (run it by hand for the full version); this runs a few hundred
jobs on three `minirq worker` processes and checks that none is lost.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

from tests.conftest import ROOT


def _harness() -> ModuleType:
    name = "minirq_bench_chaos"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / "chaos.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        # Registered first: dataclasses look their module up while the file executes.
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def test_no_job_is_lost_when_workers_horses_and_redis_are_killed() -> None:
    chaos = _harness()
    config = chaos.ChaosConfig(
        jobs=300,
        queues=3,
        workers=3,
        kill_every_s=0.4,
        max_kills=4,
        alternate=True,
        job_seconds=0.01,
        lease_s=1.0,
        restart_redis=True,
        deadline_s=45.0,
        seed=4,
        verbose=False,
    )
    report = chaos.run_chaos(config)
    summary = "\n".join(report.lines(config))
    assert report.enqueued == 300, summary
    assert report.lost == 0, summary
    assert report.unfinished == 0, summary
    assert report.worker_kills + report.horse_kills == 4, summary
    assert report.redis_restarts == 1, summary
    # Every finished job really ran: the files are written outside Redis.
    assert report.finished_without_a_run == 0, summary
    assert report.executions >= report.finished, summary
    if chaos._retry_option():
        assert report.finished == 300, summary
    else:
        # Without Retry, a job whose horse was killed fails, with the signal as reason.
        assert report.failed <= report.horse_kills, summary
        assert set(report.failure_reasons) <= {
            "WorkHorseDied: the work-horse was killed by SIGKILL (signal 9): often the "
            "out-of-memory killer, or a kill -9"
        }, summary
        assert report.finished + report.failed == 300, summary
