"""The ``MINIRQ`` Django setting.

Its keys are those of a minirq settings module (``REDIS_URL``, ``QUEUES``, ``PREFIX``,
``LEASE_S``, ... : see :mod:`minirq.config`), plus two that only this integration reads:
``SERIALIZER`` (``"pickle"``, ``"json"`` or the dotted path of an object with ``dumps()``
and ``loads()``) and ``IS_ASYNC`` (``False`` runs jobs at once in the enqueuing process,
for tests). As in every minirq process, ``REDIS_URL`` and ``MINIRQ_*`` environment
variables win over the setting.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from django.conf import settings as django_settings

from minirq.config import Settings, load_settings
from minirq.exceptions import ConfigurationError
from minirq.serializers import SERIALIZERS, Serializer, resolve_serializer
from minirq.utils import import_attribute

SETTING = "MINIRQ"
# The module `manage.py minirq` hands to the minirq command line as its settings module.
SETTINGS_MODULE = "minirq.contrib.django.minirq_settings"
EXTRA_KEYS = ("SERIALIZER", "IS_ASYNC")
# The URL name of the dashboard mounted by minirq.contrib.django.urls.
URL_NAME = "minirq:dashboard"


def minirq_keys() -> tuple[str, ...]:
    """The keys a minirq settings module takes, as spelt in ``MINIRQ``."""
    return tuple(field.name.upper() for field in fields(Settings))


def raw_setting() -> dict[str, Any]:
    """``settings.MINIRQ`` as given (an empty dict when it is not set).

    Raises :class:`ConfigurationError` when it is not a dict.
    """
    value = getattr(django_settings, SETTING, {})
    if not isinstance(value, Mapping):
        raise ConfigurationError(f"settings.{SETTING} must be a dict, not {type(value).__name__}")
    return dict(value)


def _where(key: str) -> str:
    return f"{SETTING}[{key!r}]"


def _minirq_problem(key: str, value: Any) -> str | None:
    if value is None:
        return f"{_where(key)} is None; leave the key out to use minirq's default"
    name = key.lower()
    try:
        load_settings({name: value}, environ={}, flag_names={name: _where(key)})
    except ConfigurationError as exc:
        return str(exc)
    return None


def _serializer_problem(value: Any) -> str | None:
    try:
        load_serializer(value)
    except ConfigurationError as exc:
        return f"invalid {_where('SERIALIZER')} {value!r}: {exc}"
    return None


def problems() -> list[tuple[str, str | None]]:
    """Each problem of ``settings.MINIRQ``: a sentence naming the key, and a hint or None."""
    try:
        values = raw_setting()
    except ConfigurationError as exc:
        return [(str(exc), f'for example {SETTING} = {{"QUEUES": ["default"]}}')]
    known = (*minirq_keys(), *EXTRA_KEYS)
    found: list[tuple[str, str | None]] = []
    for key, value in values.items():
        if key in minirq_keys():
            problem = _minirq_problem(key, value)
        elif key == "SERIALIZER":
            problem = _serializer_problem(value)
        elif key == "IS_ASYNC":
            problem = None if isinstance(value, bool) else f"{_where(key)} must be True or False"
        else:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(known)}"
            found.append((f"unknown key {_where(key)}", hint))
            continue
        if problem is not None:
            found.append((problem, None))
    return found


def load() -> Settings:
    """minirq's settings for this Django project (environment variables first).

    Raises :class:`ConfigurationError` for a bad value.
    """
    return load_settings(module=SETTINGS_MODULE)


def load_serializer(value: Any) -> Serializer:
    """The serializer a ``SERIALIZER`` value names (``None``: pickle)."""
    if value is None or (isinstance(value, str) and value in SERIALIZERS):
        return resolve_serializer(value)
    if not isinstance(value, str) or "." not in value:
        raise ConfigurationError(
            f"choose one of {sorted(SERIALIZERS)} or the dotted path of an object with "
            "dumps() and loads()"
        )
    try:
        found = import_attribute(value)
    except Exception as exc:
        raise ConfigurationError(f"cannot import it: {type(exc).__name__}: {exc}") from None
    return resolve_serializer(found)


def serializer_name() -> str | None:
    """``MINIRQ['SERIALIZER']`` as written, for the command line's ``--serializer``."""
    value = raw_setting().get("SERIALIZER")
    return value if isinstance(value, str) else None


def is_async() -> bool:
    """Whether queues hand jobs to workers (``MINIRQ['IS_ASYNC']``, default True)."""
    return bool(raw_setting().get("IS_ASYNC", True))


def is_staff(user: Any) -> bool:
    """Whether ``user`` is a logged-in, active staff member."""
    return bool(user.is_authenticated and user.is_active and getattr(user, "is_staff", False))
