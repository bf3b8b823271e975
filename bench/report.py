"""The tables of ``bench/RESULTS.md``: the figures with medians and spreads, minirq's
advantage over each peer, and the aims of issue 17 against this run."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

# (lib, group, setup, label) -> metric -> one value per repeat
Results = dict[tuple[str, str, str, str], dict[str, list[float]]]
Cell = tuple[str, str, list[float]]  # setup, label, values


@dataclass(frozen=True)
class Row:
    title: str
    group: str
    metric: str
    higher_is_better: bool


ROWS = [
    Row("enqueue one by one (jobs/s)", "enqueue", "rate", True),
    Row("bulk enqueue (jobs/s)", "bulk", "rate", True),
    Row("drain, 2 processes (jobs/s)", "drain", "rate", True),
    Row("enqueue→job ran p50, one idle worker (ms)", "latency", "p50_ms", False),
    Row("enqueue→job ran p99, one idle worker (ms)", "latency", "p99_ms", False),
    Row("forking Worker alone (jobs/s)", "fork", "rate", True),
    Row("Redis commands per enqueue", "enqueue", "commands", False),
    Row("Redis commands per processed job (drain)", "drain", "commands", False),
    Row("Redis commands per processed job (forking Worker)", "fork", "commands", False),
    Row("Redis bytes per finished job", "drain", "bytes", False),
    Row("async: 1,000 jobs of sleep(0.1 s), concurrency 100 (jobs/s)", "async", "rate", True),
    Row("async: enqueue→start p50 (ms)", "async", "p50_ms", False),
    Row("async: enqueue→start p99 (ms)", "async", "p99_ms", False),
]


def fmt(value: float) -> str:
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def cells(results: Results, lib: str, row: Row) -> list[Cell]:
    found = [
        (setup, label, metrics[row.metric])
        for (lib_, group, setup, label), metrics in results.items()
        if lib_ == lib and group == row.group and row.metric in metrics
    ]
    # Memory does not depend on the set-up: one figure per library (its first drain).
    return found[:1] if row.metric == "bytes" else found


def cell_text(values: list[Cell], with_labels: bool) -> str:
    parts = []
    for _, label, samples in values:
        median = fmt(statistics.median(samples))
        spread = f" ({fmt(min(samples))}-{fmt(max(samples))})" if len(samples) > 1 else ""
        parts.append(f"{label + ' ' if with_labels and label else ''}{median}{spread}")
    return "; ".join(parts) if parts else "—"


def figures_table(results: Results, libs: list[str], labels: dict[str, str]) -> list[str]:
    lines = [
        "| figure | " + " | ".join(labels[lib] for lib in libs) + " |",
        "|---|" + "---:|" * len(libs),
    ]
    for row in ROWS:
        row_cells = [cells(results, lib, row) for lib in libs]
        if not any(row_cells):
            continue
        texts = [
            cell_text(c, with_labels=len(c) > 1 or row.group in ("latency", "async"))
            for c in row_cells
        ]
        lines.append(f"| {row.title} | " + " | ".join(texts) + " |")
    return lines


def counterpart(ours: Cell, theirs: list[Cell], higher: bool) -> float:
    """The peer's figure to compare one of minirq's with: the same set-up where the peer has
    it (RQ), else the peer's best."""
    same = [statistics.median(s) for setup, _, s in theirs if setup == ours[0]]
    if same:
        return same[0]
    medians = [statistics.median(s) for _, _, s in theirs]
    return max(medians) if higher else min(medians)


def advantage(ours: float, theirs: float, higher: bool) -> float | None:
    """ours ÷ theirs for rates, theirs ÷ ours for times, counts and bytes; None when either
    is not above zero (a library that keeps nothing per job measures about 0 bytes, give or
    take Redis's own allocations)."""
    if ours <= 0 or theirs <= 0:
        return None
    return ours / theirs if higher else theirs / ours


def ratios_table(results: Results, libs: list[str], labels: dict[str, str]) -> list[str]:
    """minirq's set-ups against each peer's (see ``counterpart``); above 1: minirq better."""
    peers = [lib for lib in libs if lib != "minirq"]
    if "minirq" not in libs or not peers:
        return []
    lines = [
        "| figure | " + " | ".join(f"vs {labels[lib]}" for lib in peers) + " |",
        "|---|" + "---:|" * len(peers),
    ]
    for row in ROWS:
        ours = cells(results, "minirq", row)
        if not ours:
            continue
        texts = []
        for lib in peers:
            theirs = cells(results, lib, row)
            if not theirs:
                texts.append("—")
                continue
            parts = []
            for cell in ours:
                theirs_value = counterpart(cell, theirs, row.higher_is_better)
                value = advantage(statistics.median(cell[2]), theirs_value, row.higher_is_better)
                shown = "—" if value is None else f"{value:.2f}x"
                parts.append(f"{cell[1] + ' ' if len(ours) > 1 else ''}{shown}")
            texts.append("; ".join(parts))
        lines.append(f"| {row.title} | " + " | ".join(texts) + " |")
    return lines


def median_of(results: Results, lib: str, group: str, setup: str, metric: str) -> float | None:
    found = (
        m.get(metric) for (l_, g, s, _), m in results.items() if (l_, g, s) == (lib, group, setup)
    )
    samples = next(found, None)
    return statistics.median(samples) if samples else None


def best_peer(results: Results, group: str, metric: str, higher: bool) -> tuple[str, float] | None:
    found = [
        (f"{lib} {label}".strip(), statistics.median(m[metric]))
        for (lib, g, _, label), m in results.items()
        if g == group and lib not in ("minirq", "rq") and metric in m
    ]
    if not found:
        return None
    return (max if higher else min)(found, key=lambda item: item[1])


def aims_table(results: Results) -> list[str]:
    """Issue 17's aims, each as a ratio measured in this run."""
    aims: list[tuple[str, float | None, float, str]] = []  # text, value, bound, direction

    def ratio(ours: float | None, theirs: float | None) -> float | None:
        return ours / theirs if ours is not None and theirs else None

    drain_best = best_peer(results, "drain", "rate", True)
    peer_rate = drain_best[1] if drain_best else None
    who = f" ({drain_best[0]})" if drain_best else ""
    pool = median_of(results, "minirq", "drain", "pool", "rate")
    inproc = median_of(results, "minirq", "drain", "two_simple", "rate")
    aims.append((f"pool of 2 ÷ best peer's 2-process drain{who}", ratio(pool, peer_rate), 1.5, "≥"))
    aims.append((f"2 in-process ÷ best peer's drain{who}", ratio(inproc, peer_rate), 2.0, "≥"))
    fork = ratio(
        median_of(results, "minirq", "fork", "fork", "rate"),
        median_of(results, "rq", "fork", "fork", "rate"),
    )
    aims.append(("forking Worker ÷ RQ's forking Worker", fork, 5.0, "≥"))
    enq = ratio(
        median_of(results, "minirq", "enqueue", "", "rate"),
        median_of(results, "huey", "enqueue", "", "rate"),
    )
    aims.append(("enqueue one by one ÷ huey's", enq, 1.3, "≥"))
    many = ratio(
        median_of(results, "minirq", "bulk", "", "rate"),
        median_of(results, "rq", "bulk", "", "rate"),
    )
    aims.append(("enqueue_many ÷ RQ's", many, 4.0, "≥"))
    for setup, label in (("pool", "pool of 2"), ("two_simple", "2 in-process")):
        value = median_of(results, "minirq", "drain", setup, "commands")
        aims.append((f"Redis commands per processed job, {label}", value, 8.0, "≤"))
    huey_p50 = median_of(results, "huey", "latency", "default", "p50_ms")
    simple = median_of(results, "minirq", "latency", "simple", "p50_ms")
    forking = median_of(results, "minirq", "latency", "fork", "p50_ms")
    aims.append(("idle p50 in-process ÷ huey's", ratio(simple, huey_p50), 1.0, "≤"))
    aims.append(("idle p50 forking Worker ÷ huey's", ratio(forking, huey_p50), 2.0, "≤"))
    mem = ratio(
        median_of(results, "minirq", "drain", "pool", "bytes"),
        median_of(results, "rq", "drain", "pool", "bytes"),
    )
    aims.append(("Redis bytes per finished job ÷ RQ's", mem, 0.25, "≤"))
    for metric, title, higher in (
        ("rate", "jobs/s", True),
        ("p50_ms", "enqueue→start p50", False),
        ("p99_ms", "enqueue→start p99", False),
    ):
        async_best = best_peer(results, "async", metric, higher)
        ours = median_of(results, "minirq", "async", "async_worker", metric)
        if async_best is not None and ours:
            value = ours / async_best[1] if higher else async_best[1] / ours
            text = f"issue 16: async worker {title} vs the best of arq, SAQ ({async_best[0]})"
            aims.append((text, value, 1.5, "≥"))
    lines = ["| aim (issue 16, 17) | this run | bound | met |", "|---|---:|---:|---|"]
    for text, value, bound, direction in aims:
        if value is None:
            continue
        met = value >= bound if direction == "≥" else value <= bound
        lines.append(
            f"| {text} | {fmt(value)} | {direction} {fmt(bound)} | {'yes' if met else 'no'} |"
        )
    return lines if len(lines) > 2 else []


def widest_spread(results: Results) -> float:
    """The largest (max - min) / median over the rates and p50 latencies, in percent."""
    spreads = [
        (max(s) - min(s)) / abs(statistics.median(s)) * 100
        for metrics in results.values()
        for metric, s in metrics.items()
        if metric in ("rate", "p50_ms") and len(s) > 1 and statistics.median(s)
    ]
    return max(spreads, default=0.0)


def least_timed_share(results: Results) -> float | None:
    """The smallest share of a drain's jobs that ran inside its timed window."""
    shares = [v for m in results.values() for v in m.get("timed_share", [])]
    return min(shares) if shares else None
