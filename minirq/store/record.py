"""The job-record codec: the one place the fields of a job hash are spelled.

A job hash is read from Redis, which is untrusted input. :func:`decode_record` never
raises: a field that does not decode (bad UTF-8, a number that is not one, a name that is
not text) is left at its default and named in :attr:`JobRecord.problems`, so that the
worker fails that job alone with a reason naming the field. :func:`encode_record` is the
way back, used when a job is written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..defaults import DEFAULT_FAILURE_TTL_S, DEFAULT_RESULT_TTL_S
from ..limits import Limit, decode_limit

# The kinds of value a field holds, and how each is written.
TEXT, INT, BYTES, FLAG, IDS, LIMIT = "text", "int", "bytes", "flag", "ids", "limit"

# attribute of JobRecord -> (field name in the hash, kind). Kept in the order a job's
# fields are usually written.
FIELDS: dict[str, tuple[str, str]] = {
    "func": ("func", TEXT),
    "data": ("data", BYTES),
    "instance": ("instance", FLAG),
    "origin": ("origin", TEXT),
    "status": ("status", TEXT),
    "created_ms": ("created_ms", INT),
    "enqueued_ms": ("enqueued_ms", INT),
    "started_ms": ("started_ms", INT),
    "ended_ms": ("ended_ms", INT),
    "timeout_s": ("timeout", INT),
    "result_ttl_s": ("result_ttl", INT),
    "failure_ttl_s": ("failure_ttl", INT),
    "ttl_s": ("ttl", INT),
    "description": ("description", TEXT),
    "meta": ("meta", BYTES),
    "worker": ("worker", TEXT),
    "run_token": ("run", TEXT),
    "op_token": ("op", TEXT),
    "exc": ("exc", TEXT),
    "result": ("result", BYTES),
    "orphaned": ("orphaned", INT),
    "retry": ("retry", TEXT),
    "retries_left": ("retries_left", INT),
    # The retries the job had in all, written with ``retries_left`` by the retry step.
    "retries_max": ("retries_max", INT),
    "repeat": ("repeat", TEXT),
    "repeats_left": ("repeats_left", INT),
    "dependency_ids": ("dependency_ids", IDS),
    "allow_failure": ("allow_failure", FLAG),
    "enqueue_at_front": ("enqueue_at_front", FLAG),
    "unique": ("unique", FLAG),
    "has_dependents": ("has_dependents", FLAG),
    "on_success": ("on_success", TEXT),
    "on_failure": ("on_failure", TEXT),
    "on_stopped": ("on_stopped", TEXT),
    "callback_exc": ("callback_exc", TEXT),
    "group_id": ("group_id", TEXT),
    "at_front": ("at_front", FLAG),
    "cron_entry": ("cron_entry", TEXT),
    "cron_slot_ms": ("cron_slot_ms", TEXT),
    "limit": ("limit", LIMIT),
    # The concurrency-slot key a started job holds (written and cleared by the scripts).
    "limit_slot": ("limit_slot", TEXT),
    "result_waited": ("waited", FLAG),
}
CALLBACK_ATTRS = ("on_success", "on_failure", "on_stopped")
# What ``job.save()`` may change on a stored job: annotations and settings, never state.
SAVED_ATTRS = ("description", "meta", "timeout_s", "result_ttl_s", "failure_ttl_s")


def field_name(attr: str) -> str:
    """The hash field of a :class:`JobRecord` attribute (``KeyError`` if unknown)."""
    return FIELDS[attr][0]


@dataclass
class JobRecord:
    """A job hash, decoded. Defaults stand for fields that are absent (or broken)."""

    func: str = ""
    data: bytes | None = None
    instance: bool = False
    origin: str = ""
    status: str | None = None
    created_ms: int | None = None
    enqueued_ms: int | None = None
    started_ms: int | None = None
    ended_ms: int | None = None
    timeout_s: int = -1
    result_ttl_s: int = DEFAULT_RESULT_TTL_S
    failure_ttl_s: int = DEFAULT_FAILURE_TTL_S
    ttl_s: int | None = None
    description: str | None = None
    meta: bytes | None = None
    worker: str | None = None
    run_token: str | None = None
    op_token: str | None = None
    exc: str | None = None
    result: bytes | None = None
    orphaned: int = 0
    retry: str | None = None
    retries_left: int | None = None
    retries_max: int | None = None
    repeat: str | None = None
    repeats_left: int | None = None
    dependency_ids: tuple[str, ...] = ()
    allow_failure: bool = False
    enqueue_at_front: bool = False
    unique: bool = False
    has_dependents: bool = False
    on_success: str | None = None
    on_failure: str | None = None
    on_stopped: str | None = None
    callback_exc: str | None = None
    group_id: str | None = None
    at_front: bool = False
    cron_entry: str | None = None
    cron_slot_ms: str | None = None
    limit: Limit | None = None
    limit_slot: str | None = None
    # Someone waited for the job's outcome: recording it publishes on its result channel.
    result_waited: bool = False
    # Fields this codec does not know, kept as they are (a newer minirq wrote them).
    extra: dict[str, bytes] = field(default_factory=dict)
    # field name -> what is wrong with it; empty for a whole record.
    problems: dict[str, str] = field(default_factory=dict)
    # Field names that were present in the hash (set by decode_record).
    present: frozenset[str] = frozenset()

    @property
    def problem(self) -> str | None:
        """One sentence naming the broken fields, or ``None`` if the record is whole."""
        if not self.problems:
            return None
        return "; ".join(f"its {name!r} field {what}" for name, what in self.problems.items())

    def runnable_problem(self) -> str | None:
        """Why a worker cannot run this job, or ``None``."""
        if "func" not in self.present:
            return "its stored data has no function name (the 'func' field is missing)"
        if "data" not in self.present:
            return "its stored data has no stored arguments (the 'data' field is missing)"
        if self.problems:
            return f"its stored data is broken: {self.problem}"
        return None


def text_or_none(value: bytes | str | None) -> str | None:
    """``value`` as text, or ``None`` when absent or not UTF-8. Never raises."""
    if value is None or isinstance(value, str):
        return value
    try:
        return value.decode()
    except UnicodeDecodeError:
        return None


def int_or_none(value: bytes | str | None) -> int | None:
    """``value`` as a whole number, or ``None`` when absent or not one. Never raises."""
    text = text_or_none(value)
    if text is None:
        return None
    text = text.strip()
    digits = text[1:] if text[:1] == "-" else text
    # isdigit alone lets through digits int() refuses ("²"): ASCII only.
    if not digits or len(text) > 20 or not (digits.isascii() and digits.isdigit()):
        return None
    return int(text)


def _decode_text(kind: str, text: str) -> tuple[Any, str | None]:
    """A value of ``kind`` from its text, and what is wrong with it (``None`` if nothing)."""
    if kind == TEXT:
        return text, None
    if kind == INT:
        number = int_or_none(text)
        return (
            (number, None)
            if number is not None
            else (None, f"is not a whole number: {text[:40]!r}")
        )
    if kind == FLAG:
        if text in ("0", "1"):
            return text == "1", None
        return None, f"is not 0 or 1: {text[:40]!r}"
    if kind == LIMIT:
        return decode_limit(text)
    return tuple(i for i in text.split(",") if i), None


def _decode_value(kind: str, value: bytes) -> tuple[Any, str | None]:
    """The decoded value, and what is wrong with it (``None`` if nothing)."""
    if kind == BYTES:
        return value, None
    text = text_or_none(value)
    if text is None:
        return None, "is not UTF-8 text"
    return _decode_text(kind, text)


# Known field names as HGETALL returns them (and as text): name, attribute, kind.
_BY_RAW: dict[Any, tuple[str, str, str]] = {
    **{name.encode(): (name, attr, kind) for attr, (name, kind) in FIELDS.items()},
    **{name: (name, attr, kind) for attr, (name, kind) in FIELDS.items()},
}


class _Decoding:
    """What :func:`decode_record` has found so far."""

    __slots__ = ("extra", "present", "problems", "values")

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.extra: dict[str, bytes] = {}
        self.problems: dict[str, str] = {}
        self.present: set[str] = set()

    def add_any(self, raw_name: Any, raw_value: Any) -> None:
        """One field of any types (a name or value that may not be bytes at all)."""
        name = text_or_none(raw_name) if isinstance(raw_name, (bytes, str)) else None
        value = raw_value
        if isinstance(value, str):
            value = value.encode()
        elif isinstance(value, int) and not isinstance(value, bool):
            # A number a script computed comes back from Lua as an integer reply.
            value = str(value).encode()
        if name is None:
            shown = repr(raw_name)[:40]
            self.problems[shown] = "has a name that is not UTF-8 text"
            return
        if not isinstance(value, bytes):
            self.problems[name] = f"holds a {type(value).__name__}, not bytes"
            return
        self.present.add(name)
        known = _BY_RAW.get(name)
        if known is None:
            self.extra[name] = value
            return
        _, attr, kind = known
        decoded, problem = _decode_value(kind, value)
        if problem is not None:
            self.problems[name] = problem
        else:
            self.values[attr] = decoded


def decode_record(raw: Mapping[Any, Any]) -> JobRecord:
    """A :class:`JobRecord` from a job hash as ``HGETALL`` returns it. Never raises."""
    found = _Decoding()
    values, present = found.values, found.present
    # This runs for every job a worker takes: known names with bytes values (nearly all
    # fields) are decoded inline; anything else takes the general path.
    for raw_name, raw_value in raw.items():
        known = _BY_RAW.get(raw_name) if isinstance(raw_name, (bytes, str)) else None
        if known is None or type(raw_value) is not bytes:
            found.add_any(raw_name, raw_value)
            continue
        name, attr, kind = known
        present.add(name)
        if kind == BYTES:
            values[attr] = raw_value
            continue
        try:
            text = raw_value.decode()
        except UnicodeDecodeError:
            found.problems[name] = "is not UTF-8 text"
            continue
        if kind == TEXT:
            values[attr] = text
            continue
        if kind == INT and len(text) <= 20 and text.isascii() and text.isdigit():
            values[attr] = int(text)
            continue
        decoded, problem = _decode_text(kind, text)
        if problem is not None:
            found.problems[name] = problem
        else:
            values[attr] = decoded
    return JobRecord(
        **values, extra=found.extra, problems=found.problems, present=frozenset(present)
    )


def _encode_value(kind: str, value: Any) -> bytes:
    if kind == BYTES:
        return bytes(value)
    if kind == FLAG:
        return b"1" if value else b"0"
    if kind == IDS:
        return ",".join(value).encode()
    if kind == LIMIT:
        return str(value.encoded()).encode()
    return str(value).encode()


# Defaults a reader assumes anyway, so they are not written.
_SKIPPED: dict[str, Any] = {
    "result_ttl_s": DEFAULT_RESULT_TTL_S,
    "failure_ttl_s": DEFAULT_FAILURE_TTL_S,
    "orphaned": 0,
}


def encode_record(record: JobRecord, attrs: Iterable[str] | None = None) -> dict[str, bytes]:
    """The hash fields of ``record`` (only ``attrs`` if given), skipping unset values:
    ``None``, false flags, empty id lists and defaults that a reader assumes anyway."""
    values = vars(record)
    # This runs for every enqueue, and most fields of a new job are unset: skip those
    # in one comprehension, then encode the few left.
    wanted = FIELDS if attrs is None else attrs
    present = [
        (attr, value)
        for attr, value in values.items()
        if value is not None and value is not False and value != () and attr in wanted
    ]
    fields: dict[str, bytes] = {}
    for attr, value in present:
        name, kind = FIELDS[attr]
        if kind == TEXT:
            fields[name] = value.encode()
        elif kind == BYTES:
            fields[name] = value
        elif kind == INT and type(value) is int:
            if _SKIPPED.get(attr) != value:
                fields[name] = b"%d" % value
        elif _SKIPPED.get(attr) != value:
            fields[name] = _encode_value(kind, value)
    if attrs is None:
        fields.update(record.extra)
    return fields


def encode_value(attr: str, value: Any) -> bytes:
    """One attribute's value as stored."""
    return _encode_value(FIELDS[attr][1], value)


def flat(fields: Mapping[str, bytes]) -> list[Any]:
    """``field, value, field, value, ...`` as the scripts take them."""
    pairs: list[Any] = []
    for name, value in fields.items():
        pairs += (name, value)
    return pairs


def split_saved(fields: Mapping[str, bytes]) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """Encoded fields split into those ``job.save()`` may change on a stored job (the
    :data:`SAVED_ATTRS`) and the others."""
    saved = {field_name(attr) for attr in SAVED_ATTRS}
    changeable = {k: v for k, v in fields.items() if k in saved}
    return changeable, {k: v for k, v in fields.items() if k not in saved}
