"""Settings: precedence of flags, environment, settings module and defaults; clear errors."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from click.testing import CliRunner

from minirq import ConfigurationError, Job, Queue
from minirq.cli import main
from minirq.config import ENVIRONMENT_VARIABLES, Settings, load_settings
from tests import fixtures


@pytest.fixture
def settings_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder on sys.path to write settings modules in; the environment cleared of ours."""
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in (*ENVIRONMENT_VARIABLES, "MINIRQ_SETTINGS"):
        monkeypatch.delenv(name, raising=False)
    yield tmp_path
    for name in [m for m in sys.modules if m.startswith("deploy_settings")]:
        del sys.modules[name]


def test_defaults_without_any_source(settings_module: Path) -> None:
    assert load_settings() == Settings()
    assert Settings().queues == ("default",) and Settings().redis_url.startswith("redis://")


def test_each_source_overrides_the_one_below(
    settings_module: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (settings_module / "deploy_settings_a.py").write_text(
        "REDIS_URL = 'redis://module:6379/1'\nQUEUES = ['high', 'low']\nLEASE_S = 40\n"
        "SHUTDOWN_TIMEOUT_S = 5\nLOG_FORMAT = 'json'\nUNRELATED = object()\n"
    )
    from_module = load_settings(module="deploy_settings_a")
    assert from_module.redis_url == "redis://module:6379/1"
    assert from_module.queues == ("high", "low")
    assert (from_module.lease_s, from_module.shutdown_timeout_s) == (40.0, 5.0)
    assert from_module.log_format == "json"
    assert from_module.prefix == "minirq"  # not in the module: the default

    monkeypatch.setenv("REDIS_URL", "redis://env:6379/2")
    monkeypatch.setenv("MINIRQ_LEASE_S", "50")
    monkeypatch.setenv("MINIRQ_PREFIX", "{app}")
    from_env = load_settings(module="deploy_settings_a")
    assert from_env.redis_url == "redis://env:6379/2"
    assert (from_env.lease_s, from_env.prefix, from_env.queues) == (50.0, "{app}", ("high", "low"))

    from_flags = load_settings(
        {"redis_url": "redis://flag:6379/3", "lease_s": 60, "queues": None},
        module="deploy_settings_a",
    )
    assert (from_flags.redis_url, from_flags.lease_s) == ("redis://flag:6379/3", 60.0)
    assert from_flags.queues == ("high", "low")  # a flag left out (None) does not override


def test_settings_module_from_the_environment(
    settings_module: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (settings_module / "deploy_settings_b.py").write_text("QUEUES = 'a, b'\n")
    monkeypatch.setenv("MINIRQ_SETTINGS", "deploy_settings_b")
    assert load_settings().queues == ("a", "b")


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("MINIRQ_LEASE_S", "soon", "invalid MINIRQ_LEASE_S 'soon': must be a number of seconds"),
        ("MINIRQ_LEASE_S", "0.5", "invalid MINIRQ_LEASE_S '0.5': must be at least 1"),
        ("MINIRQ_LEASE_S", "nan", "invalid MINIRQ_LEASE_S 'nan': must be at least 1"),
        ("MINIRQ_SHUTDOWN_TIMEOUT_S", "-1", "invalid MINIRQ_SHUTDOWN_TIMEOUT_S '-1'"),
        ("MINIRQ_QUEUES", "a,,b", "invalid MINIRQ_QUEUES 'a,,b': queue name must be"),
        ("MINIRQ_QUEUES", "a,a", "invalid MINIRQ_QUEUES 'a,a': names a queue twice"),
        ("MINIRQ_WORKER_CLASS", "thread", "invalid MINIRQ_WORKER_CLASS 'thread': unknown worker"),
        ("MINIRQ_LOG_LEVEL", "loud", "invalid MINIRQ_LOG_LEVEL 'loud': choose one of DEBUG"),
        ("MINIRQ_LOG_FORMAT", "xml", "invalid MINIRQ_LOG_FORMAT 'xml': choose one of text, json"),
        ("MINIRQ_PREFIX", "a:b", "invalid MINIRQ_PREFIX 'a:b': invalid key prefix"),
        ("MINIRQ_REDIS_SSL_CERT_REQS", "off", "invalid MINIRQ_REDIS_SSL_CERT_REQS 'off'"),
    ],
)
def test_invalid_environment_values_name_the_variable(
    settings_module: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError) as info:
        load_settings()
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_invalid_module_values_name_the_setting_and_module(settings_module: Path) -> None:
    (settings_module / "deploy_settings_c.py").write_text("QUEUES = 5\n")
    with pytest.raises(ConfigurationError, match="invalid QUEUES in deploy_settings_c 5"):
        load_settings(module="deploy_settings_c")
    (settings_module / "deploy_settings_d.py").write_text("LEASE_S = True\n")
    with pytest.raises(ConfigurationError, match="invalid LEASE_S in deploy_settings_d True"):
        load_settings(module="deploy_settings_d")


def test_invalid_flag_names_the_flag(settings_module: Path) -> None:
    with pytest.raises(ConfigurationError, match="invalid --lease 0"):
        load_settings({"lease_s": 0}, flag_names={"lease_s": "--lease"})
    with pytest.raises(ConfigurationError, match="unknown settings: colour"):
        load_settings({"colour": "blue"})


def test_unimportable_module_is_one_line(settings_module: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"cannot import settings module 'nowhere\.x'"):
        load_settings(module="nowhere.x")
    (settings_module / "deploy_settings_e.py").write_text("raise RuntimeError('boom')\n")
    with pytest.raises(ConfigurationError, match="RuntimeError: boom"):
        load_settings(module="deploy_settings_e")


def test_worker_command_takes_queues_from_the_settings_module(
    settings_module: Path, redis_url: str, connection: redis.Redis
) -> None:
    (settings_module / "deploy_settings_f.py").write_text(
        f"REDIS_URL = {redis_url!r}\nQUEUES = ['mail']\nWORKER_CLASS = 'simple'\n"
    )
    job = Queue("mail", connection=connection).enqueue(fixtures.add, 1, 2)
    result = CliRunner().invoke(main, ["worker", "--burst", "-c", "deploy_settings_f"])
    assert result.exit_code == 0, result.output
    assert Job.fetch(job.id, connection=connection).return_value() == 3


def test_worker_command_reports_a_bad_environment_value_in_one_line(
    settings_module: Path, redis_url: str
) -> None:
    result = CliRunner().invoke(
        main, ["worker", "--burst", "-u", redis_url], env={"MINIRQ_LEASE_S": "soon"}
    )
    assert result.exit_code == 1
    assert result.output.strip() == (
        "Error: invalid MINIRQ_LEASE_S 'soon': must be a number of seconds"
    )


def test_info_command_reads_the_settings_module(
    settings_module: Path, redis_url: str, connection: redis.Redis
) -> None:
    (settings_module / "deploy_settings_g.py").write_text(
        f"REDIS_URL = {redis_url!r}\nPREFIX = 'other'\n"
    )
    Queue("reports", connection=connection, prefix="other").enqueue(fixtures.say_hello)
    Queue("unseen", connection=connection).enqueue(fixtures.say_hello)
    result = CliRunner().invoke(main, ["info", "-c", "deploy_settings_g"])
    assert result.exit_code == 0, result.output
    assert "reports" in result.output and "unseen" not in result.output
