"""Log lines: one per job start and end with its fields, JSON for log drains, secrets masked."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys

import pytest
import redis

from minirq import Queue, SimpleWorker
from minirq.logs import JsonFormatter, TextFormatter, setup_logging
from tests import fixtures


def _record(message: str, *args: object, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("minirq.worker", logging.INFO, __file__, 1, message, args, None)
    record.__dict__.update(extra)
    return record


def test_json_lines_carry_job_fields_and_mask_passwords() -> None:
    record = _record(
        "cannot reach %s", "redis://:hunter2@db:6379/0", job_id="j1", queue="q", duration_ms=12
    )
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "cannot reach redis://:***@db:6379/0"
    assert (entry["job_id"], entry["queue"], entry["duration_ms"]) == ("j1", "q", 12)
    assert entry["level"] == "INFO" and entry["logger"] == "minirq.worker"
    assert entry["ts"].endswith("+00:00")


def test_tracebacks_are_masked_too() -> None:
    try:
        raise ConnectionError("rediss://admin:hunter2@db:6380 refused")
    except ConnectionError:
        record = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "failed", (), exc_info=sys.exc_info()
        )
    text = TextFormatter().format(record)
    entry = json.loads(JsonFormatter().format(record))
    assert "hunter2" not in text and "rediss://admin:***@db:6380" in text
    assert "hunter2" not in entry["exc_info"] and "ConnectionError" in entry["exc_info"]


def test_setup_logging_replaces_only_its_own_handler() -> None:
    root = logging.getLogger()
    level = root.level
    before = list(root.handlers)
    first, second = io.StringIO(), io.StringIO()
    try:
        setup_logging("INFO", "text", stream=first)
        setup_logging("WARNING", "json", stream=second)
        logging.getLogger("minirq.test").warning("hello")
        assert first.getvalue() == ""
        assert json.loads(second.getvalue())["message"] == "hello"
        assert len([h for h in root.handlers if h.get_name() == "minirq"]) == 1
    finally:
        for handler in [h for h in root.handlers if h not in before]:
            root.removeHandler(handler)
        root.setLevel(level)


def test_worker_logs_one_line_per_job_start_and_end(
    connection: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    queue = Queue("mail", connection=connection)
    ok = queue.enqueue(fixtures.add, 1, 2)
    bad = queue.enqueue(fixtures.div_by_zero)
    with caplog.at_level(logging.INFO, logger="minirq.worker"):
        SimpleWorker([queue], connection=connection).work(burst=True)
    job_lines = [r for r in caplog.records if getattr(r, "job_id", None)]
    assert [(r.job_id, getattr(r, "status", "started")) for r in job_lines] == [
        (ok.id, "started"),
        (ok.id, "finished"),
        (bad.id, "started"),
        (bad.id, "failed"),
    ]
    for record in job_lines:
        assert record.queue == "mail"
        assert record.func in ("tests.fixtures.add", "tests.fixtures.div_by_zero")
    ends = [r for r in job_lines if hasattr(r, "status")]
    assert all(isinstance(r.duration_ms, int) for r in ends)
    assert "ZeroDivisionError" in ends[1].getMessage()
    assert "tests.fixtures.add" in ends[0].getMessage()


def test_worker_command_writes_json_lines(
    connection: redis.Redis, subprocess_env: dict[str, str], minirq_command: list[str]
) -> None:
    job = Queue(connection=connection).enqueue(fixtures.say_hello, "json")
    result = subprocess.run(
        [*minirq_command, "worker", "--burst", "--log-format", "json"],
        env=subprocess_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    entries = [json.loads(line) for line in result.stderr.splitlines()]
    finished = [e for e in entries if e.get("status") == "finished"]
    assert len(finished) == 1
    assert finished[0]["job_id"] == job.id
    assert finished[0]["func"] == "tests.fixtures.say_hello"
    assert finished[0]["queue"] == "default"
    assert isinstance(finished[0]["duration_ms"], int)


@pytest.mark.parametrize("formatter", [TextFormatter, JsonFormatter])
@pytest.mark.parametrize(
    "value",
    [
        "REDIS://:hunter2@db",
        "redis://:p@hunter2@db/0",
        "redis://:pa/hunter2@db",
        "unix:///run/r.sock?Password=hunter2",
        {"host": "db", "password": "hunter2"},
    ],
)
def test_every_password_form_is_masked_in_both_formats(
    formatter: type[logging.Formatter], value: object
) -> None:
    line = formatter().format(_record("connecting with %s", value))
    assert "hunter2" not in line and "***" in line
