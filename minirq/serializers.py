"""Serializers for job arguments, results and meta.

A serializer is any object with ``dumps(obj) -> bytes`` and ``loads(bytes) -> obj``.
``pickle`` (the default, as in RQ) can encode almost any Python object, which also means
that anyone who can write to your Redis can make a worker run code; ``json`` cannot.
"""

from __future__ import annotations

import json
import pickle
from typing import Any, Protocol

from .exceptions import ConfigurationError
from .utils import import_attribute


class Serializer(Protocol):
    def dumps(self, obj: Any) -> bytes: ...

    def loads(self, data: bytes) -> Any: ...


class PickleSerializer:
    """Pickle with the highest protocol."""

    name = "pickle"

    @staticmethod
    def dumps(obj: Any) -> bytes:
        return pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)

    @staticmethod
    def loads(data: bytes) -> Any:
        return pickle.loads(data)


class JSONSerializer:
    """JSON; tuples come back as lists."""

    name = "json"

    @staticmethod
    def dumps(obj: Any) -> bytes:
        return json.dumps(obj, separators=(",", ":")).encode()

    @staticmethod
    def loads(data: bytes) -> Any:
        return json.loads(data)


# RQ's name for the serializer used when none is given.
DefaultSerializer = PickleSerializer


def is_pickle(serializer: Serializer) -> bool:
    """Whether ``serializer`` is minirq's pickle serializer (the class or an instance)."""
    return serializer is PickleSerializer or isinstance(serializer, PickleSerializer)


# The classes themselves: their methods are static, so a class is a serializer (as in RQ,
# where ``Queue(serializer="json").serializer is JSONSerializer``).
SERIALIZERS: dict[str, Serializer] = {
    "pickle": PickleSerializer,
    "json": JSONSerializer,
}


def resolve_serializer(serializer: Serializer | str | None) -> Serializer:
    """The serializer for ``None`` (pickle), a name (``"pickle"``, ``"json"``), the dotted
    path of a serializer (``"myapp.serializers.Msgpack"``), or an object (or class) with
    ``dumps()`` and ``loads()``, which is returned as is.

    Raises :class:`ConfigurationError` naming the problem for anything else.
    """
    if serializer is None:
        return PickleSerializer
    if serializer is PickleSerializer or serializer is JSONSerializer:
        return serializer
    if isinstance(serializer, str):
        if serializer in SERIALIZERS:
            return SERIALIZERS[serializer]
        if "." not in serializer:
            raise ConfigurationError(
                f"unknown serializer {serializer!r}; choose one of {sorted(SERIALIZERS)}, "
                "give the dotted path of one, or pass an object with dumps() and loads()"
            )
        try:
            serializer = import_attribute(serializer)
        except Exception as exc:
            raise ConfigurationError(
                f"cannot import serializer {serializer!r}: {type(exc).__name__}: {exc}"
            ) from exc
    if not (
        callable(getattr(serializer, "dumps", None))
        and callable(getattr(serializer, "loads", None))
    ):
        raise ConfigurationError(f"serializer {serializer!r} has no dumps() and loads()")
    return serializer  # type: ignore[return-value]
