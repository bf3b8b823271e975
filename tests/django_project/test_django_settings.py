"""settings.MINIRQ: checked by `manage.py check`, read by get_queue and `manage.py minirq`."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from django.core.checks import run_checks
from django.core.management import CommandError, call_command

from minirq import ConfigurationError, JobStatus, JSONSerializer
from minirq.contrib.django import get_queue
from minirq.contrib.django.conf import minirq_keys
from tests import fixtures
from tests.django_project.conftest import PROJECT
from tests.django_project.shop.jobs import SERIALIZER, orm_round_trip

MANAGE = [sys.executable, str(PROJECT / "manage.py")]


def _errors() -> list[str]:
    return [f"{m.msg} | {m.hint}" for m in run_checks(tags=["minirq"]) if m.id == "minirq.E001"]


def test_a_good_setting_passes_the_check() -> None:
    assert _errors() == []


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("LEASE_S", 0, "invalid MINIRQ['LEASE_S'] 0: must be at least 1"),
        ("LEASE_S", "soon", "invalid MINIRQ['LEASE_S'] 'soon': must be a number of seconds"),
        ("QUEUES", [], "invalid MINIRQ['QUEUES'] []"),
        ("QUEUES", ["a", "a"], "names a queue twice"),
        ("PREFIX", "", "invalid MINIRQ['PREFIX'] ''"),
        ("WORKER_CLASS", "thread", "unknown worker class 'thread'"),
        ("LOG_LEVEL", None, "MINIRQ['LOG_LEVEL'] is None"),
        ("SERIALIZER", "yaml", "invalid MINIRQ['SERIALIZER'] 'yaml'"),
        ("SERIALIZER", "nowhere.serializer", "cannot import it"),
        ("IS_ASYNC", "no", "MINIRQ['IS_ASYNC'] must be True or False"),
        ("ALLOW_MODULES", ["shop jobs"], "'shop jobs' is not a dotted module name"),
        ("LEASE", 30, "unknown key MINIRQ['LEASE'] | did you mean 'LEASE_S'?"),
    ],
)
def test_check_names_each_bad_value(settings: Any, key: str, value: Any, expected: str) -> None:
    settings.MINIRQ = {**settings.MINIRQ, key: value}
    errors = _errors()
    assert len(errors) == 1 and expected in errors[0], errors


def test_check_refuses_a_setting_that_is_not_a_dict(settings: Any) -> None:
    settings.MINIRQ = ["default"]
    assert "settings.MINIRQ must be a dict, not list" in _errors()[0]


def test_every_key_of_the_settings_module_is_accepted(settings: Any) -> None:
    expected = {"REDIS_URL", "QUEUES", "PREFIX", "LEASE_S", "WORKER_CLASS", "ALLOW_MODULES"}
    assert expected <= set(minirq_keys())
    settings.MINIRQ = {
        **settings.MINIRQ,
        "LEASE_S": 12,
        "SHUTDOWN_TIMEOUT_S": 3,
        "WORKER_CLASS": "simple",
        "LOG_LEVEL": "debug",
        "LOG_FORMAT": "json",
        "SERIALIZER": "tests.django_project.shop.jobs.SERIALIZER",
        "IS_ASYNC": True,
        "ALLOW_MODULES": ["tests.django_project.shop.jobs", "tests.fixtures"],
    }
    assert _errors() == []


def test_get_queue_uses_the_prefix_and_serializer_and_refuses_unknown_queues(
    settings: Any,
) -> None:
    settings.MINIRQ = {**settings.MINIRQ, "SERIALIZER": "json"}
    queue = get_queue("low_priority")
    assert queue.keys.prefix == "djtest" and queue.serializer is JSONSerializer
    settings.MINIRQ = {**settings.MINIRQ, "SERIALIZER": "tests.django_project.shop.jobs.SERIALIZER"}
    assert get_queue("low_priority").serializer is SERIALIZER
    assert get_queue().name == "default"
    settings.MINIRQ = {**settings.MINIRQ, "QUEUES": ["high", "low"]}
    assert get_queue().name == "high"  # no "default": the first queue
    with pytest.raises(ConfigurationError, match="queue 'hihg' is not in MINIRQ\\['QUEUES'\\]"):
        get_queue("hihg")


def _manage(
    args: list[str], env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*MANAGE, *args], env=env, capture_output=True, text=True, timeout=timeout, cwd=PROJECT
    )


def test_manage_check_names_a_bad_value(project_env: dict[str, str]) -> None:
    bad = {**project_env, "MINIRQ_TEST_BAD_SETTING": "1"}
    result = _manage(["check"], bad)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "invalid MINIRQ['LEASE_S'] -5: must be at least 1" in result.stderr
    # Every minirq command runs the checks first, and does nothing with a bad setting.
    result = _manage(["minirq", "info"], bad)
    assert result.returncode == 1 and "MINIRQ['LEASE_S']" in result.stderr, result.stderr


def test_manage_minirq_help_lists_every_minirq_command(project_env: dict[str, str]) -> None:
    result = _manage(["minirq", "--help"], project_env)
    assert result.returncode == 0, result.stderr
    assert "manage.py minirq" in result.stdout
    for command in ("worker", "scheduler", "info", "requeue", "empty", "enqueue"):
        assert command in result.stdout


@pytest.mark.django_db(transaction=True)
def test_manage_minirq_worker_runs_orm_jobs_with_the_projects_settings(
    project_env: dict[str, str],
) -> None:
    queues = [get_queue(name) for name in ("high_priority", "default", "low_priority")]
    jobs = [queue.enqueue(orm_round_trip, i) for i, queue in enumerate(queues)]
    failing = queues[0].enqueue(fixtures.div_by_zero)
    result = _manage(
        ["minirq", "worker", "--burst", "high_priority", "default", "low_priority"],
        project_env,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for job in jobs:
        assert job.get_status() == JobStatus.FINISHED, job.exc_info
    assert failing.get_status() == JobStatus.FAILED
    info = _manage(["minirq", "info", "high_priority", "default", "low_priority"], project_env)
    assert info.returncode == 0, info.stderr
    assert "high_priority" in info.stdout and "low_priority" in info.stdout


@pytest.mark.django_db(transaction=True)
def test_manage_minirq_worker_uses_the_configured_serializer(
    settings: Any, project_env: dict[str, str]
) -> None:
    settings.MINIRQ = {**settings.MINIRQ, "SERIALIZER": "json"}
    job = get_queue("default").enqueue(fixtures.add, 2, 3)
    env = {**project_env, "MINIRQ_TEST_SERIALIZER": "json"}
    result = _manage(["minirq", "worker", "--burst", "default"], env, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert job.get_status() == JobStatus.FINISHED, job.exc_info
    assert job.return_value() == 5


def test_check_warns_when_the_admin_shadows_the_dashboard(settings: Any) -> None:
    assert [m for m in run_checks(tags=["minirq"]) if m.id == "minirq.W001"] == []
    settings.ROOT_URLCONF = "tests.django_project.urls_shadowed"
    (warning,) = [m for m in run_checks(tags=["minirq"]) if m.id == "minirq.W001"]
    assert "/admin/minirq/ is served by admin:app_list" in warning.msg
    assert "before" in warning.hint


def test_call_command_runs_minirq_and_turns_a_failure_into_a_command_error() -> None:
    with pytest.raises(CommandError, match="minirq exited with code 2"):
        call_command("minirq", "no-such-command")


@pytest.mark.django_db(transaction=True)
def test_manage_minirq_worker_keeps_to_the_allowed_modules(project_env: dict[str, str]) -> None:
    queue = get_queue("default")
    allowed = queue.enqueue(orm_round_trip, 1)
    refused = queue.enqueue(fixtures.add, 1, 2)
    env = {**project_env, "MINIRQ_TEST_ALLOW_MODULES": "tests.django_project.shop.jobs"}
    result = _manage(["minirq", "worker", "--burst", "default"], env, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert allowed.get_status() == JobStatus.FINISHED, allowed.exc_info
    refused.refresh()
    assert refused.get_status() == JobStatus.FAILED
    assert "not allowed" in (refused.exc_info or ""), refused.exc_info
