"""A job's data: its call, meta and return value, encoded with its serializer when
written and decoded when read; part of :class:`~minirq.job.Job`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import redis

from . import store
from .callables import short_repr
from .exceptions import DeserializationError, InvalidJobError, SerializationError
from .keys import Keys
from .serializers import Serializer
from .store.record import JobRecord


def serializer_name(serializer: Serializer) -> str:
    return getattr(serializer, "name", type(serializer).__name__)


class JobDataMixin:
    id: str
    connection: redis.Redis
    keys: Keys
    record: JobRecord
    serializer: Serializer
    _meta: dict[str, Any] | None
    _performed: tuple[Any] | None

    def return_value(self, refresh: bool = True) -> Any:
        """The function's return value once the job finished, else ``None``."""
        if refresh:
            self.record.result = store.jobs.load_field(
                self.connection, self.keys, self.id, "result"
            )
        data = self.record.result
        if data is None:
            return None
        try:
            return self.serializer.loads(data)
        except Exception as exc:
            raise DeserializationError(f"cannot decode the result of job {self.id}: {exc}") from exc

    @property
    def result(self) -> Any:
        """The return value: of :meth:`perform` if this object ran the job in this
        process, else the recorded one (see :meth:`return_value`)."""
        if self._performed is not None:
            return self._performed[0]
        return self.return_value()

    @property
    def meta(self) -> dict[str, Any]:
        """Free-form data about the job; change it, then call :meth:`save_meta`."""
        if self._meta is None:
            data = self.record.meta
            try:
                self._meta = dict(self.serializer.loads(data)) if data else {}
            except Exception as exc:
                raise DeserializationError(
                    f"cannot decode the meta of job {self.id}: {exc}"
                ) from exc
        return self._meta

    @meta.setter
    def meta(self, value: dict[str, Any]) -> None:
        self._meta = dict(value)

    def get_meta(self, refresh: bool = True) -> dict[str, Any]:
        if refresh:
            self.record.meta = store.jobs.load_field(self.connection, self.keys, self.id, "meta")
            self._meta = None
        return self.meta

    def encode_meta(self, meta: Mapping[str, Any]) -> bytes:
        if not isinstance(meta, Mapping):
            raise InvalidJobError(f"meta must be a dict, not {type(meta).__name__}")
        return self._encode(dict(meta), "meta")

    def _encode(self, value: Any, what: str) -> bytes:
        try:
            return self.serializer.dumps(value)
        except Exception as exc:
            raise SerializationError(
                f"{what} cannot be serialized with {serializer_name(self.serializer)}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc

    def _encode_call(
        self, name: str, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> bytes:
        payload: Any = [args, kwargs] if instance is None else [instance, args, kwargs]
        try:
            return self.serializer.dumps(payload)
        except Exception as exc:
            culprit = self._find_unserializable(instance, args, kwargs)
            raise SerializationError(
                f"cannot enqueue {name}: {culprit} cannot be serialized with "
                f"{serializer_name(self.serializer)} ({type(exc).__name__}: {exc})"
            ) from exc

    def _find_unserializable(
        self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> str:
        candidates: list[tuple[str, Any]] = []
        if instance is not None:
            candidates.append(("the bound instance", instance))
        candidates += [(f"argument {i} ({short_repr(a)})", a) for i, a in enumerate(args)]
        candidates += [(f"keyword argument {k!r} ({short_repr(v)})", v) for k, v in kwargs.items()]
        for label, value in candidates:
            try:
                self.serializer.dumps(value)
            except Exception:
                return label
        return "the arguments"
