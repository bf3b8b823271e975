from __future__ import annotations

from datetime import timedelta

import pytest

from minirq.connection import redact_url
from minirq.exceptions import ConfigurationError
from minirq.keys import Keys
from minirq.utils import import_attribute, parse_duration


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (5, 5),
        (2.5, 3),
        ("30s", 30),
        ("5m", 300),
        ("1h", 3600),
        ("2d", 172800),
        (timedelta(minutes=2), 120),
        ("10", 10),
        ("1500ms", 2),
    ],
)
def test_parse_duration(value: object, seconds: int) -> None:
    assert parse_duration(value, "x") == seconds


def test_parse_duration_unlimited() -> None:
    assert parse_duration(-1, "x", allow_unlimited=True) == -1
    with pytest.raises(ConfigurationError, match="x=-1"):
        parse_duration(-1, "x")


def test_redact_url() -> None:
    assert redact_url("redis://user:pw@host:6379/0") == "redis://user:***@host:6379/0"
    assert redact_url("rediss://:pw@host") == "rediss://:***@host"
    assert redact_url("redis://host:6379") == "redis://host:6379"


def test_keys_prefix() -> None:
    keys = Keys("{app}")
    assert keys.job("1") == "{app}:job:1"
    assert keys.registry("failed", "q") == "{app}:failed:q"
    with pytest.raises(ConfigurationError):
        Keys("has space")
    with pytest.raises(ValueError, match="unknown registry"):
        keys.registry("bogus", "q")


def test_import_attribute() -> None:
    assert import_attribute("tests.fixtures.Calculator.plus").__name__ == "plus"
    with pytest.raises(AttributeError, match="nothing_here"):
        import_attribute("tests.fixtures.nothing_here")
    with pytest.raises(ImportError, match="no_such_pkg"):
        import_attribute("no_such_pkg.mod.func")
