"""Cron and interval entries: clock math across DST, exactly-once slots, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import redis
from click.testing import CliRunner

from minirq import ConfigurationError, InvalidFunctionError, Job, Queue, Scheduler
from minirq.cli import main
from minirq.cron import Schedule, plan_slots
from minirq.keys import Keys
from tests import scheduling_jobs as jobs

NEW_YORK = "America/New_York"
NY = ZoneInfo(NEW_YORK)
KEYS = Keys()


def ms(value: datetime) -> int:
    return round(value.timestamp() * 1000)


def slots(schedule: Schedule, start: datetime, count: int) -> list[str]:
    out, at = [], ms(start)
    for _ in range(count):
        at = schedule.next_after(at)
        out.append(datetime.fromtimestamp(at / 1000, start.tzinfo).isoformat())
    return out


# -- clock math ------------------------------------------------------------------------


def test_five_fields_in_utc() -> None:
    schedule = Schedule(cron="*/15 9 * * 1-5")
    assert slots(schedule, datetime(2024, 1, 5, 9, 20, tzinfo=UTC), 3) == [
        "2024-01-05T09:30:00+00:00",
        "2024-01-05T09:45:00+00:00",
        "2024-01-08T09:00:00+00:00",
    ]


def test_a_sixth_field_is_seconds() -> None:
    schedule = Schedule(cron="* * * * * */20")
    assert slots(schedule, datetime(2024, 1, 1, tzinfo=UTC), 3) == [
        "2024-01-01T00:00:20+00:00",
        "2024-01-01T00:00:40+00:00",
        "2024-01-01T00:01:00+00:00",
    ]


def test_a_daily_time_follows_the_zone_across_dst() -> None:
    schedule = Schedule(cron="0 9 * * *", timezone=NEW_YORK)
    assert slots(schedule, datetime(2024, 3, 9, 12, tzinfo=NY), 2) == [
        "2024-03-10T09:00:00-04:00",
        "2024-03-11T09:00:00-04:00",
    ]
    # 9:00 in New York is 14:00 UTC in winter and 13:00 UTC in summer.
    at = schedule.next_after(ms(datetime(2024, 3, 8, 12, tzinfo=UTC)))
    assert datetime.fromtimestamp(at / 1000, UTC).hour == 14
    at = schedule.next_after(ms(datetime(2024, 3, 10, 12, tzinfo=UTC)))
    assert datetime.fromtimestamp(at / 1000, UTC).hour == 13


def test_a_time_skipped_by_spring_forward_runs_at_the_change() -> None:
    schedule = Schedule(cron="30 2 * * *", timezone=NEW_YORK)
    assert slots(schedule, datetime(2024, 3, 9, 12, tzinfo=NY), 2) == [
        "2024-03-10T03:00:00-04:00",
        "2024-03-11T02:30:00-04:00",
    ]


def test_a_time_repeated_by_fall_back_runs_once() -> None:
    schedule = Schedule(cron="30 1 * * *", timezone=NEW_YORK)
    assert slots(schedule, datetime(2024, 11, 2, 12, tzinfo=NY), 2) == [
        "2024-11-03T01:30:00-04:00",
        "2024-11-04T01:30:00-05:00",
    ]


def test_an_hourly_schedule_runs_in_both_repeated_hours() -> None:
    schedule = Schedule(cron="0 * * * *", timezone=NEW_YORK)
    assert slots(schedule, datetime(2024, 11, 3, 0, 30, tzinfo=NY), 3) == [
        "2024-11-03T01:00:00-04:00",
        "2024-11-03T01:00:00-05:00",
        "2024-11-03T02:00:00-05:00",
    ]


def test_sub_hourly_slots_in_the_spring_gap_collapse_into_one() -> None:
    schedule = Schedule(cron="*/30 * * * *", timezone=NEW_YORK)
    assert slots(schedule, datetime(2024, 3, 10, 1, 0, tzinfo=NY), 3) == [
        "2024-03-10T01:30:00-05:00",
        "2024-03-10T03:00:00-04:00",
        "2024-03-10T03:30:00-04:00",
    ]


def test_intervals_count_real_time() -> None:
    schedule = Schedule.every(timedelta(minutes=40), anchor_ms=ms(datetime(2024, 11, 3, tzinfo=NY)))
    assert slots(schedule, datetime(2024, 11, 3, 0, 50, tzinfo=NY), 3) == [
        "2024-11-03T01:20:00-04:00",
        "2024-11-03T01:00:00-05:00",
        "2024-11-03T01:40:00-05:00",
    ]


def test_misfire_policies() -> None:
    schedule = Schedule(cron="*/5 * * * *")
    start = ms(datetime(2024, 1, 1, tzinfo=UTC))
    hour_later = start + 3_600_000 + 7_000
    assert plan_slots(schedule, start, start - 1, "once") == ([], start, False)
    assert plan_slots(schedule, start, start + 1, "skip") == ([start], start + 300_000, False)
    latest = start + 3_600_000
    assert plan_slots(schedule, start, hour_later, "once") == (
        [latest],
        latest + 300_000,
        True,
    )
    assert plan_slots(schedule, start, latest + 61_000, "skip") == ([], latest + 300_000, True)
    assert plan_slots(schedule, start, hour_later, "skip") == ([latest], latest + 300_000, True)
    every, after, dropped = plan_slots(schedule, start, hour_later, "all")
    assert every == [start + i * 300_000 for i in range(13)] and not dropped
    capped, after, dropped = plan_slots(schedule, start, hour_later, "all", cap=4)
    assert capped == every[:4] and dropped and after == latest + 300_000


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cron": "61 * * * *"}, "invalid cron string"),
        ({"cron": "* * *"}, "invalid cron string"),
        ({"cron": "* * * * * * * *"}, "invalid cron string"),
        ({"cron": "every day"}, "invalid cron string"),
        ({"cron": "0 0 30 2 *"}, "never matches"),
        ({"cron": "* * * * *", "timezone": "Mars/Olympus"}, "unknown time zone"),
        ({"cron": "* * * * *", "timezone": "../etc/passwd"}, "unknown time zone"),
        ({"cron": "* * * * *", "timezone": ""}, "IANA zone name"),
    ],
)
def test_bad_schedules_are_refused(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Schedule(**kwargs)  # type: ignore[arg-type]


# -- entries in Redis ------------------------------------------------------------------


NOW = datetime(2030, 1, 1, 12, 0, 10, tzinfo=UTC)


def test_register_list_update_and_remove(connection: redis.Redis) -> None:
    scheduler = Scheduler(connection)
    entry = scheduler.cron(
        "*/5 * * * *", jobs.record, args=["/tmp/x"], name="report", now=NOW, job_timeout=20
    )
    assert entry.name == "report"
    assert entry.next_run == datetime(2030, 1, 1, 12, 5, tzinfo=UTC)
    assert entry.func_name == "tests.scheduling_jobs.record"
    assert entry.last_run is None and entry.last_job_id is None
    # Same schedule, another queue: updated in place, next run kept.
    again = scheduler.cron(
        "*/5 * * * *", jobs.record, queue_name="low", name="report", now=NOW + timedelta(minutes=1)
    )
    assert again.queue_name == "low" and again.next_run == entry.next_run
    # Another schedule: next run recomputed.
    changed = scheduler.cron("0 * * * *", jobs.record, name="report", timezone=NEW_YORK, now=NOW)
    assert changed.next_run == datetime(2030, 1, 1, 13, 0, tzinfo=UTC)
    assert changed.timezone == NEW_YORK
    scheduler.every(30, jobs.record, name="ping", now=NOW)
    assert [e.name for e in scheduler.entries()] == ["ping", "report"]
    assert scheduler.remove("report")
    assert not scheduler.remove("report")
    assert [e.name for e in scheduler.entries()] == ["ping"]


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda s: s.cron("bad", jobs.record), ConfigurationError, "invalid cron string"),
        (
            lambda s: s.cron("* * * * *", jobs.record, timezone="Nowhere/City"),
            ConfigurationError,
            "unknown time zone",
        ),
        (
            lambda s: s.cron("* * * * *", jobs.record, misfire="later"),
            ConfigurationError,
            "misfire",
        ),
        (lambda s: s.cron("* * * * *", jobs.record, job_id="x"), ConfigurationError, "job_id"),
        (lambda s: s.cron("* * * * *", jobs.record, colour="red"), ConfigurationError, "colour"),
        (lambda s: s.cron("* * * * *", lambda: None), InvalidFunctionError, "lambda"),
        (lambda s: s.cron("* * * * *", jobs.record, name=""), ConfigurationError, "name"),
        (lambda s: s.every(-1, jobs.record), ConfigurationError, "negative"),
        (lambda s: s.every(0, jobs.record), ConfigurationError, "more than zero"),
        (lambda s: s.every("soon", jobs.record), ConfigurationError, "timedelta"),
    ],
)
def test_bad_entries_are_refused_and_nothing_is_written(
    connection: redis.Redis, call: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        call(Scheduler(connection))  # type: ignore[operator]
    assert connection.dbsize() == 0


def test_a_due_slot_is_enqueued_once(connection: redis.Redis) -> None:
    scheduler = Scheduler(connection)
    scheduler.acquire_lease()
    scheduler.cron("* * * * *", jobs.record, args=["/tmp/x"], name="tick", now=NOW, result_ttl=7)
    slot = datetime(2030, 1, 1, 12, 1, tzinfo=UTC)
    assert scheduler.enqueue_cron(ms(slot) - 1) == []
    [job_id] = scheduler.enqueue_cron(ms(slot) + 5)
    assert scheduler.enqueue_cron(ms(slot) + 5) == []
    queue = Queue(connection=connection)
    assert queue.job_ids == [job_id]
    job = Job.fetch(job_id, connection=connection)
    assert job.args == ("/tmp/x",) and job.result_ttl == 7
    [entry] = scheduler.entries()
    assert entry.last_run == slot and entry.last_job_id == job_id
    assert entry.next_run == slot + timedelta(minutes=1)


def test_a_replayed_slot_is_stopped_by_its_idempotency_key(connection: redis.Redis) -> None:
    scheduler = Scheduler(connection)
    scheduler.acquire_lease()
    scheduler.cron("* * * * *", jobs.record, name="tick", now=NOW)
    slot = ms(datetime(2030, 1, 1, 12, 1, tzinfo=UTC))
    assert len(scheduler.enqueue_cron(slot)) == 1
    # A stale plan puts the entry back on the slot it already ran.
    connection.hset(KEYS.cron_entry("tick"), "next_ms", slot)
    connection.zadd(KEYS.cron_entries, {"tick": slot})
    assert scheduler.enqueue_cron(slot) == []
    assert Queue(connection=connection).count == 1
    # The entry still moves on: it is not left due (which would spin the scheduler).
    [entry] = scheduler.entries()
    assert entry.next_run == datetime(2030, 1, 1, 12, 2, tzinfo=UTC)


def test_only_the_lease_holder_enqueues_cron_slots(connection: redis.Redis) -> None:
    holder, standby = Scheduler(connection), Scheduler(connection)
    assert holder.acquire_lease() and not standby.acquire_lease()
    holder.cron("* * * * *", jobs.record, name="tick", now=NOW)
    due = ms(datetime(2030, 1, 1, 12, 1, tzinfo=UTC))
    assert standby.enqueue_cron(due) == []
    # A holder whose lease passed on cannot enqueue either.
    connection.delete(KEYS.scheduler_lease)
    assert standby.acquire_lease()
    assert holder.enqueue_cron(due) == [] and not holder.is_leader
    assert len(standby.enqueue_cron(due)) == 1


@pytest.mark.parametrize(("misfire", "expected"), [("once", 1), ("skip", 0), ("all", 12)])
def test_missed_runs_follow_the_misfire_policy(
    connection: redis.Redis, misfire: str, expected: int
) -> None:
    scheduler = Scheduler(connection)
    scheduler.acquire_lease()
    scheduler.cron("*/5 * * * *", jobs.record, name="m", misfire=misfire, now=NOW)
    # No scheduler ran for an hour.
    now = ms(NOW + timedelta(hours=1, minutes=2))
    assert len(scheduler.enqueue_cron(now)) == expected
    assert scheduler.enqueue_cron(now) == []
    [entry] = scheduler.entries()
    assert entry.next_run == datetime(2030, 1, 1, 13, 5, tzinfo=UTC)


def test_every_runs_one_interval_after_registration(connection: redis.Redis) -> None:
    scheduler = Scheduler(connection)
    scheduler.acquire_lease()
    entry = scheduler.every(timedelta(seconds=30), jobs.record, name="ping", now=NOW)
    assert entry.next_run == NOW + timedelta(seconds=30)
    assert scheduler.enqueue_cron(ms(NOW + timedelta(seconds=29))) == []
    assert len(scheduler.enqueue_cron(ms(NOW + timedelta(seconds=30)))) == 1
    # Registering again (a restart) keeps the cadence.
    again = scheduler.every(30, jobs.record, name="ping", now=NOW + timedelta(seconds=45))
    assert again.next_run == NOW + timedelta(seconds=60)


# -- real scheduler processes ----------------------------------------------------------


@pytest.fixture
def schedulers(
    subprocess_env: dict[str, str], minirq_command: list[str]
) -> Iterator[list[subprocess.Popen[bytes]]]:
    processes = [
        subprocess.Popen(
            [*minirq_command, "scheduler", "--lease", "1", "--logging-level", "WARNING"],
            env=subprocess_env,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(3)
    ]
    yield processes
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        process.wait(10)


def test_three_schedulers_enqueue_each_slot_once(
    connection: redis.Redis, schedulers: list[subprocess.Popen[bytes]]
) -> None:
    scheduler = Scheduler(connection)
    scheduler.cron("* * * * * *", jobs.record, name="each-second")
    scheduler.every(0.25, jobs.record, name="quarter")
    queue = Queue(connection=connection)
    deadline = time.monotonic() + 20
    while queue.count < 12 and time.monotonic() < deadline:
        time.sleep(0.05)
    for process in schedulers:
        process.terminate()
    for process in schedulers:
        assert process.wait(10) == 0
    fired = [job for job in Job.fetch_many(queue.job_ids, connection=connection) if job]
    assert len(fired) >= 12
    slots_by_entry = Counter((job.record.cron_entry, job.record.cron_slot_ms) for job in fired)
    assert set(slots_by_entry.values()) == {1}
    for job in fired:
        assert job.enqueued_at is not None
        assert job.enqueued_at.timestamp() * 1000 >= int(job.record.cron_slot_ms or 0)


# -- the command line ------------------------------------------------------------------


def test_cron_cli_add_list_remove(redis_url: str, connection: redis.Redis) -> None:
    runner = CliRunner()
    added = runner.invoke(
        main,
        [
            "cron",
            "add",
            "tests.scheduling_jobs.record",
            '"/tmp/x"',
            "--cron",
            "0 9 * * 1-5",
            "--name",
            "morning",
            "--timezone",
            NEW_YORK,
            "-u",
            redis_url,
        ],
    )
    assert added.exit_code == 0, added.output
    assert "morning: next run" in added.output
    added = runner.invoke(
        main,
        [
            "cron",
            "add",
            "tests.scheduling_jobs.record",
            "--every",
            "5m",
            "--name",
            "often",
            "-u",
            redis_url,
        ],
    )
    assert added.exit_code == 0, added.output
    listed = runner.invoke(main, ["cron", "list", "-u", redis_url])
    assert "morning: tests.scheduling_jobs.record on default, 0 9 * * 1-5" in listed.output
    assert "often: tests.scheduling_jobs.record on default, every 300s" in listed.output
    assert runner.invoke(main, ["cron", "remove", "often", "-u", redis_url]).exit_code == 0
    missing = runner.invoke(main, ["cron", "remove", "often", "-u", redis_url])
    assert missing.exit_code != 0 and "no cron entry named 'often'" in missing.output
    assert [e.name for e in Scheduler(connection).entries()] == ["morning"]
    as_json = runner.invoke(main, ["cron", "list", "--json", "-u", redis_url])
    [entry] = json.loads(as_json.output)
    assert entry["name"] == "morning" and entry["timezone"] == NEW_YORK
    assert entry["next_run"] is not None and entry["last_run"] is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--cron", "61 * * * *"], "invalid cron string"),
        (["--cron", "* * * * *", "--timezone", "Atlantis/Capital"], "unknown time zone"),
        ([], "either --cron or --every"),
        (["--every", "-5"], "--every"),
    ],
)
def test_cron_cli_refuses_bad_input(
    redis_url: str, connection: redis.Redis, args: list[str], message: str
) -> None:
    result = CliRunner().invoke(
        main, ["cron", "add", "tests.scheduling_jobs.record", *args, "-u", redis_url]
    )
    assert result.exit_code != 0
    assert message in result.output
    assert connection.dbsize() == 0


def test_scheduler_cli_registers_a_cron_module(
    redis_url: str, connection: redis.Redis, tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    (tmp_path / "my_cron.py").write_text(
        "def register(scheduler):\n"
        "    scheduler.cron('0 3 * * *', 'tests.scheduling_jobs.record', name='nightly')\n"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "minirq",
            "scheduler",
            "--burst",
            "--cron-module",
            "my_cron",
            "--path",
            str(tmp_path),
        ],
        env=subprocess_env,
        capture_output=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert [e.name for e in Scheduler(connection).entries()] == ["nightly"]
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "minirq",
            "scheduler",
            "--burst",
            "--cron-module",
            "no_such_mod_xyz",
        ],
        env=subprocess_env,
        capture_output=True,
        timeout=30,
    )
    assert bad.returncode != 0 and b"cannot import 'no_such_mod_xyz'" in bad.stderr
