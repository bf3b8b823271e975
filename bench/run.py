"""minirq against RQ 2.12 and its Python peers: ``make bench`` or ``python3 bench/run.py``.

Creates one venv per library under ``bench/.venv-<lib>`` from PyPI on first use (minirq's
holds this checkout), starts a private redis-server on a free loopback port, runs every
figure of ``bench/plan.py`` for every library, interleaved, several times, and prints the
medians with their spreads, minirq's advantage over each peer and the aims of issue 17. A
full run writes them to ``bench/RESULTS.md`` with the machine's description and its load.
Needs only the standard library; a full run takes about 15 minutes.

    python3 bench/run.py                      # everything, 3 repeats, writes RESULTS.md
    python3 bench/run.py --quick --libs minirq huey     # small sizes, 1 repeat, no writing
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import time
from dataclasses import dataclass, field

import envs
import machine
import plan
import report
from envs import BENCH, LIBRARIES, ROOT


class TaskFailed(Exception):
    pass


def run_task(task: plan.Task, url: str, quick: bool) -> dict[str, float]:
    lib = LIBRARIES[task.lib]
    args = [str(lib.python), str(BENCH / "workload.py"), task.lib, task.figure]
    if task.setup:
        args.append(task.setup)
    args += ["--url", url, "--n", str(task.size(quick))]
    try:
        proc = subprocess.run(args, capture_output=True, text=True, timeout=900)
    except subprocess.TimeoutExpired as exc:
        raise TaskFailed(f"no result within {exc.timeout:.0f} s") from exc
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        raise TaskFailed(f"{' '.join(args[2:])} exited with {proc.returncode}:\n{tail}")
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def run_with_retry(task: plan.Task, url: str, quick: bool, failures: list[str]) -> dict[str, float]:
    """One retry, so that one bad moment of a shared machine does not end a long run; a
    task that fails twice is left out of the table and listed under it."""
    for attempt in (1, 2):
        try:
            return run_task(task, url, quick)
        except TaskFailed as exc:
            print(f"\n  failed (attempt {attempt}): {exc}", flush=True)
            if attempt == 2:
                reason = str(exc).splitlines()
                failures.append(f"{task.lib} {task.figure} {task.setup}: {reason[-1]}")
    return {}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--libs", nargs="+", choices=list(LIBRARIES), default=list(LIBRARIES), metavar="LIB",
        help=f"libraries to run (default: all of {', '.join(LIBRARIES)})",
    )  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="small sizes and 1 repeat")
    parser.add_argument("--repeat", type=int, help="runs per figure (default 3, 1 if --quick)")
    parser.add_argument("--only", nargs="+", choices=plan.GROUPS, help="run only these figures")
    parser.add_argument("--no-write", action="store_true", help="do not write RESULTS.md")
    options = parser.parse_args()
    if options.repeat is None:
        options.repeat = 1 if options.quick else 3
    if options.repeat < 1:
        parser.error("--repeat must be at least 1")
    options.libs = [lib for lib in LIBRARIES if lib in options.libs]  # the table's order
    return options


@dataclass
class Run:
    """What a run measured, and the other processes' share of the CPU in each repeat."""

    results: report.Results = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    repeat_shares: list[float] = field(default_factory=list)


def run_all(tasks: list[tuple[int, plan.Task]], url: str, options: argparse.Namespace) -> Run:
    run = Run()
    rep_start = machine.LoadSample.now()
    for index, (rep, task) in enumerate(tasks):
        print(
            f"[{index + 1}/{len(tasks)}] run {rep + 1}/{options.repeat}: "
            f"{task.lib} {task.group} {task.label}".rstrip(),
            end="",
            flush=True,
        )
        task_start = time.monotonic()
        measured = run_with_retry(task, url, options.quick, run.failures)
        print(f" ({time.monotonic() - task_start:.1f} s)", flush=True)
        for metric, value in measured.items():
            key = (task.lib, task.group, task.setup, task.label)
            run.results.setdefault(key, {}).setdefault(metric, []).append(value)
        if index + 1 == len(tasks) or tasks[index + 1][0] != rep:
            # Between repeats the redis-server still runs: its CPU is not yet counted as
            # ours, so these per-repeat shares are upper bounds.
            now = machine.LoadSample.now()
            run.repeat_shares.append(machine.others_share(rep_start, now)[1])
            rep_start = now
    return run


def main() -> None:
    options = parse_args()
    for name in options.libs:
        envs.ensure_venv(LIBRARIES[name])
    tasks = [
        (rep, task)
        for rep, task in plan.schedule(options.libs, options.repeat)
        if not options.only or task.group in options.only
    ]
    before = machine.LoadSample.now()
    server = envs.RedisServer()
    try:
        run = run_all(tasks, server.url, options)
        redis_version = server.version()
    finally:
        server.stop()
    after = machine.LoadSample.now()
    others_s, share = machine.others_share(before, after)
    load = [
        f"- Load average (1, 5, 15 min): {before.loadavg} before, {after.loadavg} after",
        f"- CPU used by other processes during the run: {others_s:,.0f} core-seconds in "
        f"{after.wall - before.wall:,.0f} s, {share:.0%} of the {machine.CORES} cores "
        "(per repeat, upper bounds: " + ", ".join(f"{s:.0%}" for s in run.repeat_shares) + ")",
    ]
    labels = {name: LIBRARIES[name].label for name in options.libs}
    tables = render(run.results, options.libs, labels)
    if run.failures:
        tables += ["", "Left out (failed twice):", "", *(f"- `{line}`" for line in run.failures)]
    spread = report.widest_spread(run.results)
    timed = report.least_timed_share(run.results)
    if timed is not None:
        load.append(f"- Every drain was timed over at least {timed:.0%} of its jobs")
    print("\n".join(["", *tables, "", *load]))
    print(f"widest spread of a rate or p50: {spread:.0f}%")
    if options.no_write or options.quick or options.only or options.libs != list(LIBRARIES):
        print("(not written to bench/RESULTS.md: only a full run is)")
        return
    about = machine.describe(ROOT, redis_version) + versions_line(options.libs)
    write_results(tables, about + load, options.repeat, spread)


def render(results: report.Results, libs: list[str], labels: dict[str, str]) -> list[str]:
    lines = ["Median (min-max) of the runs:", "", *report.figures_table(results, libs, labels)]
    ratios = report.ratios_table(results, libs, labels)
    if ratios:
        lines += ["", "minirq's advantage (above 1: minirq better):", "", *ratios]
    aims = report.aims_table(results)
    if aims:
        lines += ["", *aims]
    return lines


def versions_line(libs: list[str]) -> list[str]:
    found = {name: envs.versions(LIBRARIES[name]) for name in libs}
    pythons = {v["python"] for v in found.values()}
    hiredis = {v["hiredis"] for v in found.values()}
    each_hiredis = len(hiredis) > 1
    parts = [
        f"{name} {v['library']} (redis-py {v['redis']}"
        + (f", hiredis {v['hiredis']})" if each_hiredis else ")")
        for name, v in found.items()
    ]
    common = f"Python {', '.join(sorted(pythons))}"
    if len(hiredis) == 1:
        common += f", hiredis {hiredis.pop()} in every venv"
    return [f"- {common}; " + ", ".join(parts)]


def write_results(tables: list[str], about: list[str], repeat: int, spread: float) -> None:
    notes_file = BENCH / "NOTES.md"
    notes = notes_file.read_text() if notes_file.exists() else ""
    text = "\n".join(
        [
            "# minirq against RQ 2.12 and its Python peers",
            "",
            "Written by `make bench` (`python3 bench/run.py`); do not edit by hand: the",
            "method and the analysis live in `bench/NOTES.md`, appended below.",
            "",
            *about,
            "",
            f"{repeat} runs of every figure, libraries interleaved, against one private",
            f"redis-server; the widest spread of a rate or a p50 was {spread:.0f}% of its median.",
            "",
            *tables,
            "",
            notes,
        ]
    )
    (BENCH / "RESULTS.md").write_text(text.rstrip() + "\n")
    print(f"wrote {(BENCH / 'RESULTS.md').relative_to(ROOT)}")


if __name__ == "__main__":
    os.chdir(ROOT)
    start = time.monotonic()
    main()
    print(f"{time.monotonic() - start:.0f} s")
