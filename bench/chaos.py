"""Chaos run: real `minirq worker` processes are SIGKILLed while they work; no job is lost.

    python bench/chaos.py                      # 2,000 jobs, 3 queues, 4 workers
    python bench/chaos.py --jobs 5000 --kill-every 0.3

It starts a private redis-server (AOF on, ``appendfsync always``), enqueues the jobs, starts
the workers, and then, every ``--kill-every`` seconds, SIGKILLs either a random worker's
parent process (and starts a replacement) or its work-horse. Once, part-way through, it
SIGKILLs Redis itself and starts it again on the same data. Each run of a job writes a file
of its own, so executions are counted outside Redis. At the end it prints how many jobs
were enqueued, finished, failed, lost (must be 0) and executed more than once, and the
longest time from a kill to the interrupted job running again.

``tests/test_chaos.py`` runs a small version of the same harness on every test run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import redis

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# Imported by the workers through `--path bench`, so that the job needs nothing from tests/.
JOB_FUNC = "chaos.record_run"


def record_run(folder: str, key: str, seconds: float) -> str:
    """The chaos job: write one file per execution, then work for ``seconds``."""
    started_ns = time.time_ns()
    path = Path(folder) / f"{key}.{os.getpid()}.{started_ns}.run"
    path.write_text(json.dumps({"key": key, "pid": os.getpid(), "started_ns": started_ns}))
    if seconds:
        time.sleep(seconds)
    return key


@dataclass
class ChaosConfig:
    jobs: int = 2000
    queues: int = 3
    workers: int = 4
    kill_every_s: float = 0.5
    # Stop killing after this many kills (None: until every job is done).
    max_kills: int | None = None
    job_seconds: float = 0.02
    lease_s: float = 2.0
    restart_redis: bool = True
    # Give up waiting for the jobs after this long; they are then reported unfinished.
    deadline_s: float = 600.0
    seed: int | None = None
    # Run each worker as a prefork pool of this many horses (``--pool``).
    pool: int | None = None
    # Alternate worker and horse kills instead of choosing at random.
    alternate: bool = False
    verbose: bool = True


@dataclass
class Kill:
    at_ns: int
    target: str  # "worker" or "horse"
    worker: str
    horse_pid: int | None


@dataclass
class ChaosReport:
    enqueued: int = 0
    finished: int = 0
    failed: int = 0
    unfinished: int = 0
    lost: int = 0
    executed_more_than_once: int = 0
    finished_without_a_run: int = 0
    executions: int = 0
    worker_kills: int = 0
    horse_kills: int = 0
    redis_restarts: int = 0
    # Seconds from a kill to the next run of the job it interrupted, by what was killed:
    # "worker" (the reaper puts the job back at the front of its queue once the lease
    # expires) or "horse" (the job fails and its Retry puts it at the back of its queue).
    recoveries: dict[str, list[float]] = field(default_factory=lambda: {"worker": [], "horse": []})
    # (seconds, what was killed, job key) of the slowest recoveries.
    slowest: list[tuple[float, str, str]] = field(default_factory=list)
    elapsed_s: float = 0.0
    failure_reasons: Counter[str] = field(default_factory=Counter)
    lost_ids: list[str] = field(default_factory=list)

    def longest_recovery_s(self, target: str) -> float | None:
        values = self.recoveries[target]
        return max(values) if values else None

    def _recovery_line(self, target: str) -> str:
        ordered = sorted(self.recoveries[target])
        if not ordered:
            return "n/a"
        return (
            f"longest {ordered[-1]:.2f} s, median {ordered[len(ordered) // 2]:.2f} s "
            f"over {len(ordered)} interrupted jobs"
        )

    def lines(self, config: ChaosConfig) -> list[str]:
        lines = [
            f"jobs enqueued            {self.enqueued}",
            f"finished                 {self.finished}",
            f"failed                   {self.failed}",
            f"unfinished at deadline   {self.unfinished}",
            f"lost                     {self.lost}",
            f"executed more than once  {self.executed_more_than_once}",
            f"executions (run files)   {self.executions}",
            f"kills                    {self.worker_kills} worker parents, "
            f"{self.horse_kills} work-horses; Redis restarted {self.redis_restarts} time(s)",
            f"kill to rerun, worker    {self._recovery_line('worker')} "
            f"(lease {config.lease_s:g} s)",
            f"kill to rerun, horse     {self._recovery_line('horse')} (retried at the "
            "back of the queue)",
            f"elapsed                  {self.elapsed_s:.1f} s",
        ]
        for seconds, what, key in self.slowest:
            lines.append(f"  recovery {seconds:.2f} s: {key} after killing {what}")
        if self.finished_without_a_run:
            lines.append(f"finished with no run file {self.finished_without_a_run}")
        for reason, count in self.failure_reasons.most_common(5):
            lines.append(f"  failed x{count}: {reason}")
        if self.lost_ids:
            lines.append(f"  lost ids: {', '.join(self.lost_ids[:20])}")
        return lines


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Redis:
    """A private redis-server with AOF fsynced on every write."""

    def __init__(self, folder: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("redis-server is not installed (apt-get install redis-server)")
        self.port = _free_port()
        self.args = [
            binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(folder),
            "--save",
            "",
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--maxmemory-policy",
            "noeviction",
        ]
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 20
        with redis.Redis(port=self.port) as client:
            while True:
                try:
                    # LOADING is a ResponseError: the AOF is still being read.
                    client.ping()
                    return
                except (redis.ConnectionError, redis.ResponseError):
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.02)

    def kill(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


class _Worker:
    def __init__(
        self, name: str, queues: list[str], config: ChaosConfig, env: dict[str, str], logs: Path
    ) -> None:
        self.name = name
        self.slot = 0
        self._log: IO[bytes] = open(logs / f"{name}.log", "wb")  # noqa: SIM115 - see close()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "minirq",
                "worker",
                *queues,
                "--name",
                name,
                "--lease",
                str(config.lease_s),
                "--path",
                str(HERE),
                *(["--pool", str(config.pool)] if config.pool else []),
            ],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def horse_pids(self) -> list[int]:
        """The pids of this worker's work-horses (one running job each, or idle: a pool's, or
        the spare a forking worker forks ahead of its next job). A forking worker's horses
        are the children of its fork server: a child of the worker with children of its
        own stands for them (the server itself, between two horses)."""
        parents: dict[int, list[int]] = {}
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] not in ("Z", "X"):
                parents.setdefault(int(fields[1]), []).append(int(name))
        pids = []
        for child in parents.get(self.process.pid, []):
            pids.extend(parents.get(child) or [child])
        return sorted(pids)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._log.close()


def _read_runs(folder: Path) -> list[dict[str, Any]]:
    """Every run, from the file names: a horse killed as it wrote its file still counts."""
    runs = []
    for path in folder.glob("*.run"):
        key, pid, started_ns, _ = path.name.split(".")
        runs.append({"key": key, "pid": int(pid), "started_ns": int(started_ns)})
    return runs


def run_chaos(config: ChaosConfig, workdir: Path | None = None) -> ChaosReport:
    """Run the chaos scenario and return what happened to every job."""
    # The worker processes import minirq from this checkout and the job from bench/.
    sys.path.insert(0, str(ROOT))
    from minirq import JobStatus, Queue
    from minirq.keys import Keys

    rng = random.Random(config.seed)
    owned = workdir is None
    base = Path(tempfile.mkdtemp(prefix="minirq-chaos-")) if workdir is None else workdir
    runs_dir, logs_dir, redis_dir = base / "runs", base / "logs", base / "redis"
    for folder in (runs_dir, logs_dir, redis_dir):
        folder.mkdir(parents=True, exist_ok=True)
    server = _Redis(redis_dir)
    env = dict(os.environ)
    env["REDIS_URL"] = server.url
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    client = redis.Redis.from_url(server.url)
    report = ChaosReport()
    workers: list[_Worker] = []
    kills: list[Kill] = []
    queue_names = [f"chaos{i}" for i in range(config.queues)]
    started = time.monotonic()
    try:
        queues = [Queue(name, connection=client) for name in queue_names]
        retry = _retry_option()
        job_ids: list[str] = []
        batch: dict[int, list[Any]] = {i: [] for i in range(config.queues)}
        for n in range(config.jobs):
            key = f"job{n:06d}"
            index = n % config.queues
            batch[index].append(
                Queue.prepare_data(
                    JOB_FUNC,
                    args=(str(runs_dir), key, config.job_seconds),
                    job_id=key,
                    result_ttl=-1,
                    **retry,
                )
            )
            job_ids.append(key)
        for index, items in batch.items():
            for start in range(0, len(items), 500):
                queues[index].enqueue_many(items[start : start + 500])
        report.enqueued = len(job_ids)

        def spawn(slot: int) -> None:
            # Each slot takes the queues in its own order, and a replacement keeps its
            # slot, so every queue always has a worker that serves it first.
            shift = slot % config.queues
            order = queue_names[shift:] + queue_names[:shift]
            worker = _Worker(f"chaos-w{len(workers)}", order, config, env, logs_dir)
            worker.slot = slot
            workers.append(worker)

        for slot in range(config.workers):
            spawn(slot)

        def done() -> int:
            with client.pipeline(transaction=False) as pipe:
                for name in queue_names:
                    pipe.zcard(Keys().registry("finished", name))
                    pipe.zcard(Keys().registry("failed", name))
                counts = pipe.execute()
            return int(sum(counts))

        def log(text: str) -> None:
            if config.verbose:
                print(f"[{time.monotonic() - started:6.1f} s] {text}", flush=True)

        restart_at = config.jobs // 2 if config.restart_redis else None
        next_kill = time.monotonic() + config.kill_every_s
        finished = 0
        while time.monotonic() - started < config.deadline_s:
            try:
                finished = done()
            except redis.ConnectionError:
                finished = 0
            if finished >= config.jobs:
                break
            if restart_at is not None and finished >= restart_at:
                restart_at = None
                log(f"{finished} done: SIGKILL redis-server, then start it again")
                server.kill()
                time.sleep(1.0)
                server.start()
                report.redis_restarts += 1
                client.connection_pool.disconnect()
            may_kill = config.max_kills is None or len(kills) < config.max_kills
            if may_kill and time.monotonic() >= next_kill:
                next_kill = time.monotonic() + config.kill_every_s
                live = [w for w in workers if w.process.poll() is None]
                victim = rng.choice(live)
                horses = victim.horse_pids()
                horse = rng.choice(horses) if horses else None
                want_horse = len(kills) % 2 == 1 if config.alternate else rng.random() < 0.5
                if horse is not None and want_horse:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(horse, signal.SIGKILL)
                    kills.append(Kill(time.time_ns(), "horse", victim.name, horse))
                    report.horse_kills += 1
                    log(f"{finished} done: SIGKILL horse {horse} of {victim.name}")
                else:
                    victim.process.send_signal(signal.SIGKILL)
                    victim.process.wait(10)
                    kills.append(Kill(time.time_ns(), "worker", victim.name, horse))
                    report.worker_kills += 1
                    log(f"{finished} done: SIGKILL worker {victim.name} (horse {horse})")
                    spawn(victim.slot)
            time.sleep(0.05)
        report.elapsed_s = time.monotonic() - started
        log(f"{finished} done; stopping workers")
    finally:
        for worker in workers:
            worker.close()

    try:
        _tally(report, client, job_ids, runs_dir, kills, JobStatus)
    finally:
        client.close()
        server.stop()
        if owned and report.lost == 0 and report.unfinished == 0:
            shutil.rmtree(base, ignore_errors=True)
        elif config.verbose:
            print(f"logs, run files and Redis data kept in {base}")
    return report


def _retry_option() -> dict[str, Any]:
    """Retry a job whose work-horse was killed, when minirq offers ``Retry``."""
    import inspect

    import minirq
    from minirq import Queue

    retry_class = getattr(minirq, "Retry", None)
    if retry_class is None or "retry" not in inspect.signature(Queue.prepare_data).parameters:
        return {}
    return {"retry": retry_class(max=5)}


def _tally(
    report: ChaosReport,
    client: redis.Redis,
    job_ids: list[str],
    runs_dir: Path,
    kills: list[Kill],
    job_status: Any,
) -> None:
    from minirq.keys import Keys

    keys = Keys()
    with client.pipeline(transaction=False) as pipe:
        for job_id in job_ids:
            pipe.hmget(keys.job(job_id), ["status", "exc"])
        rows = pipe.execute()
    runs = _read_runs(runs_dir)
    report.executions = len(runs)
    per_key = Counter(str(run["key"]) for run in runs)
    report.executed_more_than_once = sum(1 for count in per_key.values() if count > 1)
    tracked = {job_status.QUEUED.value, job_status.STARTED.value, job_status.SCHEDULED.value}
    for job_id, (status, exc) in zip(job_ids, rows, strict=True):
        text = status.decode() if status else None
        if text == job_status.FINISHED.value:
            report.finished += 1
            if per_key[job_id] == 0:
                report.finished_without_a_run += 1
        elif text == job_status.FAILED.value:
            report.failed += 1
            last = (exc or b"").decode(errors="replace").strip().splitlines()
            report.failure_reasons[last[-1] if last else "?"] += 1
        elif text in tracked:
            report.unfinished += 1
        else:
            report.lost += 1
            report.lost_ids.append(job_id)
    # Recovery: from each kill that interrupted a job to the next run of that job.
    runs_by_pid: dict[int, list[dict[str, Any]]] = {}
    for run in runs:
        runs_by_pid.setdefault(int(run["pid"]), []).append(run)
    starts: dict[str, list[int]] = {}
    for run in runs:
        starts.setdefault(str(run["key"]), []).append(int(run["started_ns"]))
    for kill in kills:
        if kill.horse_pid is None:
            continue
        before = [r for r in runs_by_pid.get(kill.horse_pid, []) if r["started_ns"] <= kill.at_ns]
        if not before:
            continue
        key = str(max(before, key=lambda r: int(r["started_ns"]))["key"])
        later = [s for s in starts.get(key, []) if s > kill.at_ns]
        if later:
            seconds = (min(later) - kill.at_ns) / 1e9
            report.recoveries[kill.target].append(seconds)
            what = f"{kill.target} of {kill.worker} (horse {kill.horse_pid})"
            report.slowest.append((seconds, what, key))
    report.slowest = sorted(report.slowest, reverse=True)[:3]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--queues", type=int, default=3)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--kill-every", type=float, default=0.5, help="seconds between kills")
    parser.add_argument("--job-seconds", type=float, default=0.02, help="work per job")
    parser.add_argument("--lease", type=float, default=2.0, help="worker --lease, seconds")
    parser.add_argument("--pool", type=int, default=None, help="run workers with --pool N")
    parser.add_argument("--no-redis-restart", action="store_true")
    parser.add_argument("--deadline", type=float, default=600.0)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--keep", type=Path, default=None, help="keep run files and logs here")
    options = parser.parse_args()
    config = ChaosConfig(
        jobs=options.jobs,
        queues=options.queues,
        workers=options.workers,
        kill_every_s=options.kill_every,
        job_seconds=options.job_seconds,
        lease_s=options.lease,
        restart_redis=not options.no_redis_restart,
        deadline_s=options.deadline,
        seed=options.seed,
        pool=options.pool,
    )
    report = run_chaos(config, options.keep)
    print()
    print("\n".join(report.lines(config)))
    return 0 if report.lost == 0 and report.unfinished == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
