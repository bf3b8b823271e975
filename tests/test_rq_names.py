"""RQ's module-level names that code moving over imports, under minirq's modules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import redis

from minirq import defaults, job, serializers, utils
from minirq.repeat import Repeat


def test_rq_default_names_match_minirqs_defaults() -> None:
    assert defaults.DEFAULT_RESULT_TTL == defaults.DEFAULT_RESULT_TTL_S == 500
    assert defaults.DEFAULT_FAILURE_TTL == defaults.DEFAULT_FAILURE_TTL_S
    assert defaults.CALLBACK_TIMEOUT == defaults.DEFAULT_CALLBACK_TIMEOUT_S
    assert defaults.DEFAULT_JOB_MONITORING_INTERVAL * 3 == defaults.DEFAULT_LEASE_S


def test_rq_names_in_minirq_job_and_serializers() -> None:
    assert job.Retry.__module__ == "minirq.retry" and job.Repeat is Repeat
    assert job.Dependency.__name__ == "Dependency" and job.Callback.__name__ == "Callback"
    assert serializers.DefaultSerializer is serializers.PickleSerializer


def test_rq_utils(connection: redis.Redis) -> None:
    major, minor, patch = utils.get_version(connection)
    assert major >= 5 and minor >= 0 and patch >= 0
    assert utils.now().tzinfo is not None
    assert abs(utils.current_timestamp() - datetime.now(UTC).timestamp()) < 60
    assert utils.as_text(b"caf\xc3\xa9") == utils.as_text("café") == "café"
    moment = datetime(2024, 5, 1, 12, 0, 0, 5, tzinfo=UTC)
    assert utils.utcformat(moment) == "2024-05-01T12:00:00.000005Z"
    assert utils.utcformat(moment + timedelta(hours=1)).startswith("2024-05-01T13")


def test_get_version_reads_four_part_and_short_versions() -> None:
    class Server:
        def __init__(self, version: str) -> None:
            self.version = version

        def info(self, section: str) -> dict[str, str]:
            return {"redis_version": self.version}

    assert utils.get_version(Server("7.2.4.1")) == (7, 2, 4)
    assert utils.get_version(Server("6")) == (6, 0, 0)
