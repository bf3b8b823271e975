"""Reading the RQ suite's JUnit report: counts per file, the triage file, and reasons.

Reasons (why a failing RQ test is left failing) are read from ``bench/rq_suite_reasons/``,
in the format the docstring of ``bench/rq_suite.py`` describes.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

REASONS_DIR = Path(__file__).resolve().parent / "rq_suite_reasons"
README = Path(__file__).resolve().parent.parent / "README.md"
DIFFERENCES_TITLE = "### Where minirq keeps its guarantee over RQ's behaviour"
IMPORT_FAILURE = "(import)"
REASON_KINDS = ("internal:", "difference:")
COLUMNS = ("passed", "failed", "errors", "skipped", "reasoned")


@dataclass
class Outcome:
    file: str
    test: str
    outcome: str
    message: str = ""

    @property
    def name(self) -> str:
        return f"{self.file}::{self.test}"


@dataclass
class Reasons:
    by_file: dict[str, dict[str, str]] = field(default_factory=dict)
    malformed: list[str] = field(default_factory=list)

    def get(self, file: str, test: str) -> str | None:
        return self.by_file.get(file, {}).get(test)


def load_reasons(folder: Path = REASONS_DIR) -> Reasons:
    reasons = Reasons()
    if not folder.is_dir():
        return reasons
    for path in sorted(folder.glob("test_*.txt")):
        entries: dict[str, str] = {}
        for number, raw in enumerate(path.read_text().splitlines(), start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            parts = re.split(r"\s{2,}|\t", line, maxsplit=1)
            if len(parts) < 2 or not parts[1].strip().startswith(REASON_KINDS):
                reasons.malformed.append(f"{path.name}:{number}: {raw}")
                continue
            entries[parts[0]] = parts[1].strip()
        reasons.by_file[path.stem + ".py"] = entries
    return reasons


def file_of(case: ElementTree.Element) -> str:
    """``test_job.py`` for a case whose classname is ``tests.test_job.TestJob``."""
    dotted = case.get("classname") or case.get("name") or ""
    for part in dotted.split("."):
        if part.startswith("test_"):
            return part + ".py"
    return dotted or "?"


def test_of(case: ElementTree.Element) -> str:
    """``TestJob::test_foo``; ``(import)`` for a file that failed to import."""
    classname = case.get("classname") or ""
    if not classname:
        return IMPORT_FAILURE
    return f"{classname.split('.')[-1]}::{case.get('name')}"


def first_line(element: ElementTree.Element) -> str:
    """The failure's own first line, or the first ``E`` line of its traceback."""
    message = (element.get("message") or "").strip()
    if not message or message == "collection failure":
        lines = [line for line in (element.text or "").splitlines() if line.startswith("E ")]
        message = lines[0][1:].strip() if lines else (element.text or message).strip()
    return message.splitlines()[0][:240] if message else "(no message)"


def read_report(report: Path) -> list[Outcome]:
    outcomes = []
    for case in ElementTree.parse(report).iter("testcase"):
        outcome = Outcome(file_of(case), test_of(case), "passed")
        for child in case:
            if child.tag in ("failure", "error"):
                outcome.outcome = "failed" if child.tag == "failure" else "errors"
                outcome.message = first_line(child)
                break
            if child.tag == "skipped":
                outcome.outcome = "skipped"
        outcomes.append(outcome)
    return outcomes


def summarise(report: Path, triage: Path, *, whole_files: bool = True) -> Counter[str]:
    """Prints the counts and the reasons' state, writes ``triage``; the total counts.

    ``whole_files`` is False when a ``-k`` selection ran only part of each file: a reason
    for a test absent from the report is then not reported as naming no test.
    """
    outcomes = read_report(report)
    reasons = load_reasons()
    per_file: dict[str, Counter[str]] = defaultdict(Counter)
    failing = [o for o in outcomes if o.outcome in ("failed", "errors")]
    lines, without_reason = [], []
    for outcome in failing:
        reason = reasons.get(outcome.file, outcome.test)
        line = f"{outcome.name}  [{outcome.outcome}]  {outcome.message}"
        lines.append(line + (f"  => {reason}" if reason else ""))
        if reason:
            per_file[outcome.file]["reasoned"] += 1
        else:
            without_reason.append(outcome.name)
    for outcome in outcomes:
        per_file[outcome.file][outcome.outcome] += 1

    total: Counter[str] = Counter()
    print(f"{'RQ test file':34}" + "".join(f"{c:>9}" for c in COLUMNS))
    for name in sorted(per_file):
        total.update(per_file[name])
        print(f"{name:34}" + "".join(f"{per_file[name][c]:>9}" for c in COLUMNS))
    print(f"{'TOTAL':34}" + "".join(f"{total[c]:>9}" for c in COLUMNS))
    triage.write_text("\n".join(lines) + ("\n" if lines else ""))
    print(f"{len(failing)} failing tests listed in {triage}")

    print(
        f"{len(failing) - len(without_reason)} failing tests have a reason, "
        f"{len(without_reason)} have none" + (":" if without_reason else "")
    )
    for name in without_reason:
        print(f"    {name}")
    report_stale(outcomes, reasons, whole_files=whole_files)

    causes = Counter(cause_of(o.message) for o in failing)
    print("most frequent causes (what minirq lacks or does differently):")
    for cause, count in causes.most_common(25):
        print(f"{count:>5}  {cause}")
    return total


def report_stale(outcomes: list[Outcome], reasons: Reasons, *, whole_files: bool) -> None:
    """Reasons for tests that now pass, or (whole files run) that name no test."""
    ran: dict[str, dict[str, str]] = defaultdict(dict)
    for outcome in outcomes:
        ran[outcome.file][outcome.test] = outcome.outcome
    stale, unknown = [], []
    for file, entries in sorted(reasons.by_file.items()):
        if file not in ran:
            continue
        for test in entries:
            state = ran[file].get(test)
            if state in ("passed", "skipped"):
                stale.append(f"{file}::{test}  [{state}]")
            elif state is None and whole_files and IMPORT_FAILURE not in ran[file]:
                unknown.append(f"{file}::{test}")
    for title, names in (
        ("stale reasons (the test no longer fails)", stale),
        ("reasons naming no test that ran", unknown),
        ("malformed reason lines", reasons.malformed),
        ("differences naming no row of the README's table", unmatched_differences(reasons)),
    ):
        if names:
            print(f"{len(names)} {title}:")
            for name in names:
                print(f"    {name}")


def difference_rows(readme: Path = README) -> list[str]:
    """The situation column of the README's "Coming from RQ" differences table."""
    lines = readme.read_text().splitlines()
    start = lines.index(DIFFERENCES_TITLE) if DIFFERENCES_TITLE in lines else len(lines)
    rows = []
    for line in lines[start + 1 :]:
        if line.startswith("#"):
            break
        if line.startswith("| ") and not line.startswith(("| situation", "| ---")):
            rows.append(line[2:].split(" | ", 1)[0])
    return rows


def unmatched_differences(reasons: Reasons) -> list[str]:
    """``file::test`` of each ``difference:`` reason that starts with no table row."""
    rows = difference_rows()
    return [
        f"{file}::{test}"
        for file, entries in sorted(reasons.by_file.items())
        for test, reason in entries.items()
        if reason.startswith("difference:")
        and not any(reason.removeprefix("difference:").strip().startswith(r) for r in rows)
    ]


_CAUSES = [
    (re.compile(r"has no attribute '(\w+)'"), "attribute {}"),
    (re.compile(r"property '(\w+)' of '\w+' object has no setter"), "setting attribute {}"),
    (re.compile(r"cannot import name '(\w+)'"), "name {}"),
    (re.compile(r"no module for RQ's ([\w.]+)|No module named '([\w.]+)'"), "module {}"),
    (re.compile(r"unexpected keyword argument '(\w+)'"), "keyword argument {}"),
    (re.compile(r"(DuplicateJobError)"), "{}: a live id is refused"),
    (re.compile(r"(Timeout) \(>"), "{} (the test hung)"),
]


def cause_of(message: str) -> str:
    """What a failure's first line says minirq lacks, in a form to group by."""
    for pattern, label in _CAUSES:
        match = pattern.search(message)
        if match:
            return label.format(next(group for group in match.groups() if group))
    return message.split(":", 1)[0][:60]
