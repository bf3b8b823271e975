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

SERIALIZERS: dict[str, Serializer] = {
    "pickle": PickleSerializer(),
    "json": JSONSerializer(),
}


def resolve_serializer(serializer: Serializer | str | None) -> Serializer:
    """Return a serializer object for a name, an object, or ``None`` (pickle)."""
    if serializer is None:
        return SERIALIZERS["pickle"]
    if isinstance(serializer, str):
        try:
            return SERIALIZERS[serializer]
        except KeyError:
            raise ConfigurationError(
                f"unknown serializer {serializer!r}; choose one of {sorted(SERIALIZERS)} "
                "or pass an object with dumps() and loads()"
            ) from None
    if not (
        callable(getattr(serializer, "dumps", None))
        and callable(getattr(serializer, "loads", None))
    ):
        raise ConfigurationError(f"serializer {serializer!r} has no dumps() and loads()")
    return serializer
