"""minirq against RQ 2.12, side by side: ``make bench`` or ``python3 bench/run.py``.

Starts a private redis-server on a free port, creates ``bench/.venv-rq`` (RQ 2.12.0 and
this checkout) once, runs every workload of ``bench/workload.py`` through both libraries
in that one interpreter, repeats each figure and keeps the median, prints the table and
writes it to ``bench/RESULTS.md`` with a description of the machine. Needs only the
standard library; takes a few minutes.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
VENV = BENCH / ".venv-rq"
PYTHON = VENV / "bin" / "python"
RQ_VERSION = "2.12.0"


@dataclass(frozen=True)
class Row:
    """One line of the table: a metric of a figure, and how to compare it."""

    figure: str
    metric: str
    label: str
    unit: str
    higher_is_better: bool
    target: float | None  # minimum advantage over RQ (x), or None
    absolute_target: float | None = None  # a bound on minirq's own value, or None


# Figure -> how many jobs per run. RQ's forking worker is slow, hence small counts.
SIZES = {
    "enqueue": 2000,
    "enqueue_many": 5000,
    "fork": 200,
    "simple": 1000,
    "pool": 1000,
    "two_simple": 1000,
    "latency_simple": 200,
    "latency_fork": 100,
    "cost_enqueue": 500,
    "cost_job": 200,
    "memory": 1000,
}

ROWS = [
    Row("enqueue", "rate", "enqueue, one by one", "jobs/s", True, 3),
    Row("enqueue_many", "rate", "enqueue_many", "jobs/s", True, 4),
    Row("fork", "rate", "forking Worker, no-op jobs", "jobs/s", True, 4),
    Row("simple", "rate", "SimpleWorker, no-op jobs", "jobs/s", True, 6),
    Row("pool", "rate", "pool of 2 (RQ: WorkerPool of 2)", "jobs/s", True, None),
    Row("two_simple", "rate", "2 SimpleWorkers in parallel", "jobs/s", True, None),
    Row("latency_simple", "p50_ms", "enqueue→finished p50, in-process", "ms", False, None, 1.5),
    Row("latency_simple", "p99_ms", "enqueue→finished p99, in-process", "ms", False, None),
    Row("latency_fork", "p50_ms", "enqueue→finished p50, forking", "ms", False, None, 6),
    Row("latency_fork", "p99_ms", "enqueue→finished p99, forking", "ms", False, None),
    Row("cost_enqueue", "commands", "Redis commands per enqueue", "", False, None),
    Row("cost_enqueue", "round_trips", "round trips per enqueue", "", False, None),
    Row("cost_job", "commands", "Redis commands per processed job", "", False, None, 8),
    Row("cost_job", "client_commands", "commands sent by client per job", "", False, None),
    Row("cost_job", "round_trips", "round trips per processed job", "", False, None, 3),
    Row("memory", "queued_bytes", "Redis memory per queued job", "bytes", False, None),
    Row("memory", "finished_bytes", "Redis memory per finished job", "bytes", False, 4),
]


def ensure_venv() -> None:
    """Create the RQ environment once; reinstall when this checkout's metadata changes."""
    stamp = VENV / ".stamp"
    wanted = f"rq=={RQ_VERSION} {(ROOT / 'setup.cfg').stat().st_mtime}"
    if stamp.exists() and stamp.read_text() == wanted:
        return
    print(f"creating {VENV.relative_to(ROOT)} (rq=={RQ_VERSION} and this checkout)", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run(
        [str(PYTHON), "-m", "pip", "install", "--quiet", f"rq=={RQ_VERSION}", "-e", str(ROOT)],
        check=True,
    )
    stamp.write_text(wanted)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("redis-server is not installed (apt-get install redis-server)")
        self.dir = tempfile.mkdtemp(prefix="minirq-bench-")
        self.port = free_port()
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.dir,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.url = f"redis://127.0.0.1:{self.port}/0"
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


def run_figure(lib: str, figure: str, url: str, scale: float) -> dict[str, float]:
    n = max(20, int(SIZES[figure] * scale))
    env = dict(os.environ, PYTHONPATH=str(BENCH))
    proc = subprocess.run(
        [str(PYTHON), str(BENCH / "workload.py"), lib, figure, "--url", url, "--n", str(n)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{lib} {figure} failed:\n{proc.stdout}\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def machine(url: str) -> list[str]:
    model = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    probe = (
        "import sys, redis, rq; r = redis.Redis.from_url(sys.argv[1]);"
        "print(sys.version.split()[0], r.info('server')['redis_version'], redis.__version__,"
        " rq.__version__)"
    )
    versions = subprocess.run(
        [str(PYTHON), "-c", probe, url], capture_output=True, text=True, check=True
    ).stdout.split()
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    return [
        f"- CPU: {os.cpu_count()} cores, {model}",
        f"- OS: {platform.system()} {platform.release()}",
        f"- Python {versions[0]}, Redis {versions[1]} (local, no persistence), "
        f"redis-py {versions[2]} with hiredis, RQ {versions[3]}",
        f"- minirq commit {commit or '?'}; "
        f"run at {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC",
    ]


def fmt(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def table(results: dict[tuple[str, str], dict[str, list[float]]]) -> list[str]:
    lines = [
        "| figure | minirq | RQ 2.12 | minirq advantage | target |",
        "|---|---:|---:|---:|---|",
    ]
    for row in ROWS:
        if (row.figure, "minirq") not in results:
            continue
        ours = statistics.median(results[row.figure, "minirq"][row.metric])
        theirs = statistics.median(results[row.figure, "rq"][row.metric])
        ratio = (ours / theirs if row.higher_is_better else theirs / ours) if ours else 0.0
        goals = []
        met = True
        if row.target is not None:
            goals.append(f"≥ {row.target}x")
            met = met and ratio >= row.target
        if row.absolute_target is not None:
            goals.append(f"≤ {fmt(row.absolute_target)}")
            met = met and ours <= row.absolute_target
        goal = " and ".join(goals)
        if goal:
            goal += " ✔" if met else " ✘ (missed)"
        unit = f" {row.unit}" if row.unit else ""
        lines.append(f"| {row.label}{unit} | {fmt(ours)} | {fmt(theirs)} | {ratio:.1f}x | {goal} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (median kept)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply job counts")
    parser.add_argument("--only", nargs="*", choices=list(SIZES), help="run only these")
    parser.add_argument("--no-write", action="store_true", help="do not write RESULTS.md")
    options = parser.parse_args()
    ensure_venv()
    figures = options.only or list(SIZES)
    server = RedisServer()
    results: dict[tuple[str, str], dict[str, list[float]]] = {}
    try:
        started = time.monotonic()
        for rep in range(options.repeat):
            for figure in figures:
                # Alternate which library goes first, so that drift favours neither.
                libs = (
                    ("minirq", "rq") if (rep + figures.index(figure)) % 2 == 0 else ("rq", "minirq")
                )
                for lib in libs:
                    print(f"run {rep + 1}/{options.repeat}: {lib:6} {figure}", flush=True)
                    for metric, value in run_figure(lib, figure, server.url, options.scale).items():
                        results.setdefault((figure, lib), {}).setdefault(metric, []).append(value)
        elapsed = time.monotonic() - started
        about = machine(server.url)
    finally:
        server.stop()
    lines = table(results)
    print("\n".join(lines))
    print(f"({options.repeat} runs per figure, medians; {elapsed:.0f} s)")
    if options.no_write or options.only:
        return
    write_results(lines, about, options.repeat)


def write_results(lines: list[str], about: list[str], repeat: int) -> None:
    notes_file = BENCH / "NOTES.md"
    notes = notes_file.read_text() if notes_file.exists() else ""
    text = "\n".join(
        [
            "# minirq against RQ 2.12",
            "",
            "Written by `make bench` (`python3 bench/run.py`); do not edit by hand: the",
            "method and the analysis live in `bench/NOTES.md`, appended below.",
            "",
            *about,
            "",
            f"Median of {repeat} runs per figure; both libraries run in the same interpreter",
            "against the same private redis-server, alternating which goes first. The",
            "advantage is minirq/RQ for rates and RQ/minirq for times, counts and memory.",
            "",
            *lines,
            "",
            notes,
        ]
    )
    (BENCH / "RESULTS.md").write_text(text.rstrip() + "\n")
    print(f"wrote {(BENCH / 'RESULTS.md').relative_to(ROOT)}")


if __name__ == "__main__":
    main()
