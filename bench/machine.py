"""What the benchmark ran on, and how loaded the machine was while it ran.

The load is read from ``/proc``: the load averages before and after, and the CPU time that
processes other than the benchmark's own (this process, its workers and its redis-server,
all waited-for children) used meanwhile, from the busy jiffies of ``/proc/stat`` minus the
benchmark's own CPU time (``os.times``).
"""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
CORES = os.cpu_count() or 1


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def busy_cpu_s() -> float:
    """CPU seconds every process on the machine spent busy since boot (all cores)."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return 0.0
    # user nice system idle iowait irq softirq steal (guest is inside user already)
    values = [int(v) for v in fields[:8]]
    busy = sum(values) - values[3] - values[4]
    return busy / CLOCK_TICKS


def own_cpu_s() -> float:
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


@dataclass
class LoadSample:
    wall: float
    busy: float
    own: float
    loadavg: str

    @classmethod
    def now(cls) -> LoadSample:
        return cls(time.monotonic(), busy_cpu_s(), own_cpu_s(), loadavg())


def others_share(start: LoadSample, end: LoadSample) -> tuple[float, float]:
    """(CPU seconds used by other processes, as a share of all cores) between two samples.

    Only children that were waited for are counted as the benchmark's own, so take ``end``
    after every worker and the redis-server have exited."""
    wall = max(end.wall - start.wall, 1e-9)
    others = max(0.0, (end.busy - start.busy) - (end.own - start.own))
    return others, others / (wall * CORES)


def describe(root: Path, redis_version: str) -> list[str]:
    model = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "?"
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kib / 2**20:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    commit = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    return [
        f"- CPU: {CORES} cores, {model}; memory {memory}",
        f"- OS: {platform.system()} {platform.release()}",
        f"- Redis {redis_version} (private, loopback, no persistence)",
        f"- minirq commit {commit or '?'}; "
        f"run at {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC",
    ]
