"""The worker allowlist's plumbing: --allow-module, MINIRQ_ALLOW_MODULES and ALLOW_MODULES
are read, checked and handed to the worker class as ``allowed_modules``."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from click.testing import CliRunner

from minirq import ConfigurationError, Job, JobStatus, Queue
from minirq.cli import main
from minirq.cli.workers import worker, worker_kwargs, worker_settings_flags
from minirq.config import ENVIRONMENT_VARIABLES, Settings, load_settings
from tests import fixtures


@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in (*ENVIRONMENT_VARIABLES, "MINIRQ_SETTINGS"):
        monkeypatch.delenv(name, raising=False)
    yield tmp_path
    for name in [m for m in sys.modules if m.startswith("allow_settings")]:
        del sys.modules[name]


def parsed(*args: str) -> dict[str, Any]:
    """The worker command's flags as click parses ``args``, without running it."""
    with worker.make_context("worker", list(args)) as ctx:
        return dict(ctx.params)


def settings_for(flags: dict[str, Any], environ: dict[str, str]) -> Settings:
    return load_settings(worker_settings_flags(flags["queues"], flags), environ=environ)


def test_each_source_gives_the_module_list(clean_env: Path) -> None:
    env = {"MINIRQ_ALLOW_MODULES": " tasks, myapp.jobs "}
    assert load_settings(environ=env).allow_modules == ("tasks", "myapp.jobs")
    (clean_env / "allow_settings_a.py").write_text("ALLOW_MODULES = ['billing', 'billing.jobs']\n")
    from_module = load_settings(module="allow_settings_a", environ={})
    assert from_module.allow_modules == ("billing", "billing.jobs")
    flags = {"allow_modules": ["tasks"]}
    assert load_settings(flags, module="allow_settings_a", environ=env).allow_modules == ("tasks",)
    assert load_settings(environ={}).allow_modules == ()


@pytest.mark.parametrize("bad", ["my app", "os;system", "1abc", "a..b", "tasks.", "x-y", "-"])
def test_a_name_that_is_not_a_module_is_refused_by_name(clean_env: Path, bad: str) -> None:
    with pytest.raises(ConfigurationError, match="is not a dotted module name") as info:
        load_settings(environ={"MINIRQ_ALLOW_MODULES": f"tasks,{bad}"})
    assert repr(bad) in str(info.value) and "MINIRQ_ALLOW_MODULES" in str(info.value)


def test_worker_refuses_a_bad_flag_at_start_and_writes_nothing(
    clean_env: Path, redis_url: str, connection: redis.Redis
) -> None:
    result = CliRunner().invoke(
        main,
        [
            "worker",
            "--burst",
            "-u",
            redis_url,
            "--allow-module",
            "tasks",
            "--allow-module",
            "os system",
        ],
    )
    assert result.exit_code == 1
    assert result.output.strip() == (
        "Error: invalid --allow-module ['tasks', 'os system']: 'os system' is not a dotted "
        "module name (such as myapp.jobs)"
    )
    assert connection.keys("*") == []


def test_the_worker_class_receives_the_list(clean_env: Path) -> None:
    flags = parsed("--allow-module", "tasks", "--allow-module", "myapp.jobs")
    kwargs = worker_kwargs(settings_for(flags, {}), flags)
    assert kwargs["allowed_modules"] == ["tasks", "myapp.jobs"]
    flags = parsed("--pool", "2")
    kwargs = worker_kwargs(settings_for(flags, {"MINIRQ_ALLOW_MODULES": "tasks"}), flags)
    assert kwargs["allowed_modules"] == ["tasks"] and kwargs["size"] == 2
    # No list, no limit.
    flags = parsed()
    assert worker_kwargs(settings_for(flags, {}), flags)["allowed_modules"] is None


@pytest.mark.parametrize("worker_args", [["--worker-class", "simple"], [], ["--pool", "1"]])
def test_a_job_outside_the_allowlist_fails_not_allowed(
    clean_env: Path, redis_url: str, connection: redis.Redis, worker_args: list[str]
) -> None:
    queue = Queue(connection=connection)
    allowed = queue.enqueue(fixtures.add, 1, 2)
    refused = queue.enqueue_call("os.getcwd")
    result = CliRunner().invoke(
        main,
        ["worker", "--burst", "-u", redis_url, *worker_args],
        env={"MINIRQ_ALLOW_MODULES": "tests.fixtures"},
    )
    assert result.exit_code == 0, result.output
    assert Job.fetch(allowed.id, connection=connection).return_value() == 3
    refused = Job.fetch(refused.id, connection=connection)
    assert refused.get_status() == JobStatus.FAILED
    assert "not allowed" in (refused.exc_info or "")
