"""RQ's stored call (``data``) and ``meta``, turned into minirq's, without running code.

RQ stores a job's call as ``zlib.compress(serializer.dumps((func_name, instance, args,
kwargs)))``; minirq stores ``serializer.dumps([args, kwargs])`` (or ``[instance, args,
kwargs]`` for a bound method) next to the function name. These bytes come from another
Redis: anyone who could write to it chose them, so nothing here unpickles them for real.

- The structure (a 4-tuple, a function name, a dict of keyword arguments) is read with
  :func:`~minirq.display_values.loads_for_display`, which resolves no class or function.
- With minirq's pickle serializer, the pickled arguments are carried over byte for byte:
  the pickle's opcodes are rearranged (the function name and a ``None`` instance popped,
  the 4-tuple made a pair) so that it loads as minirq's payload. The worker later unpickles
  exactly what an RQ worker would have, and nothing is unpickled before.
- With any other serializer (``json``, or your own), only plain values can be carried;
  a call whose arguments name a class (a ``datetime``, your own object) is refused with
  the name of that class.

Pure: no Redis. Every failure is a :class:`RQPayloadError` whose message is the reason.
"""

from __future__ import annotations

import itertools
import json
import pickle
import pickletools
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .display_values import Opaque, Undecodable, loads_for_display
from .exceptions import MinirqError
from .serializers import Serializer, is_pickle

# An RQ payload larger than this once inflated is refused rather than held in memory.
MAX_INFLATED_BYTES = 64 * 1024 * 1024
_POP = pickle.POP
_PROTO = 0x80


class RQPayloadError(MinirqError):
    """RQ's stored bytes cannot be carried over; the message says why."""


@dataclass(frozen=True)
class ConvertedCall:
    """A job's call as minirq stores it."""

    func_name: str
    has_instance: bool
    data: bytes


def inflate(raw: bytes, what: str) -> bytes:
    """RQ's zlib-compressed bytes inflated (uncompressed bytes as they are, as RQ reads
    them), at most :data:`MAX_INFLATED_BYTES`."""
    inflater = zlib.decompressobj()
    try:
        data = inflater.decompress(raw, MAX_INFLATED_BYTES + 1)
    except zlib.error:
        return raw
    if len(data) > MAX_INFLATED_BYTES or inflater.unconsumed_tail:
        raise RQPayloadError(f"its {what} inflates to more than {MAX_INFLATED_BYTES} bytes")
    if not inflater.eof:
        return raw
    return data


def _is_json(data: bytes) -> bool:
    if data[:1] == bytes([_PROTO]):
        return False
    try:
        json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return False
    return True


def _named_class(value: Any) -> str | None:
    """The first class or function a decoded value names (an :class:`Opaque`), if any."""
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, Opaque):
            return item.label
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            stack.extend(item)
    return None


def _serializer_name(serializer: Serializer) -> str:
    return str(getattr(serializer, "name", type(serializer).__name__))


def _dumps(serializer: Serializer, value: Any, what: str) -> bytes:
    named = _named_class(value)
    if named is not None:
        raise RQPayloadError(
            f"its {what} hold a {named} object, which the {_serializer_name(serializer)} "
            "serializer cannot carry without unpickling RQ's bytes (import with minirq's "
            "pickle serializer, which keeps them as they are)"
        )
    try:
        return serializer.dumps(value)
    except Exception as exc:
        raise RQPayloadError(
            f"its {what} cannot be encoded with the {_serializer_name(serializer)} "
            f"serializer ({type(exc).__name__}: {exc})"
        ) from None


def convert_call(raw: bytes | None, serializer: Serializer) -> ConvertedCall:
    """RQ's ``data`` field as minirq's function name and stored call, for ``serializer``."""
    if not raw:
        raise RQPayloadError("it has no stored call (its 'data' field is missing or empty)")
    data = inflate(raw, "data")
    value = loads_for_display(data)
    if isinstance(value, Undecodable):
        raise RQPayloadError(f"its data is {value.reason}")
    if not (isinstance(value, tuple | list) and len(value) == 4):
        raise RQPayloadError("its data is not RQ's (function, instance, args, kwargs) call")
    func_name, instance, args, kwargs = value
    if not isinstance(func_name, str) or not func_name:
        raise RQPayloadError("its data names no function")
    if not isinstance(args, tuple | list):
        raise RQPayloadError(f"its positional arguments are a {type(args).__name__}")
    if not (isinstance(kwargs, dict) and all(isinstance(k, str) for k in kwargs)):
        raise RQPayloadError("its keyword arguments are not a dict with text keys")
    has_instance = instance is not None
    if is_pickle(serializer) and not _is_json(data):
        return ConvertedCall(func_name, has_instance, repack_call(data, has_instance))
    payload = [instance, list(args), kwargs] if has_instance else [list(args), kwargs]
    return ConvertedCall(func_name, has_instance, _dumps(serializer, payload, "arguments"))


def convert_meta(raw: bytes | None, serializer: Serializer) -> bytes | None:
    """RQ's ``meta`` field as minirq stores it (``None`` when the job has none)."""
    if not raw:
        return None
    value = loads_for_display(raw)
    if isinstance(value, Undecodable):
        raise RQPayloadError(f"its meta is {value.reason}")
    if not isinstance(value, dict):
        raise RQPayloadError(f"its meta is a {type(value).__name__}, not a dict")
    if is_pickle(serializer) and not _is_json(raw):
        return raw
    return _dumps(serializer, value, "meta values")


def _spans(data: bytes) -> Iterator[tuple[pickletools.OpcodeInfo, bytes]]:
    """Each opcode of a pickle with its bytes."""
    ops = list(pickletools.genops(data))
    ends = [pos for _, _, pos in ops[1:]] + [len(data)]
    for (opcode, _, start), end in zip(ops, ends, strict=True):
        yield opcode, data[start:end]


def repack_call(data: bytes, has_instance: bool) -> bytes:
    """RQ's pickled ``(func_name, instance, args, kwargs)`` as a pickle of ``(args,
    kwargs)`` (or ``(instance, args, kwargs)``), by rearranging opcodes only.

    The function name (and a ``None`` instance) are popped right after they are pushed,
    so every memo index the other elements use stays valid; frames are dropped (they are
    optional to the unpickler, and their lengths would no longer match).
    """
    try:
        spans = [(op, chunk) for op, chunk in _spans(data) if op.name != "FRAME"]
    except Exception as exc:
        raise RQPayloadError(f"its data is not a readable pickle ({exc})") from None
    first = 1 if spans and spans[0][0].name == "PROTO" else 0
    if first >= len(spans) or spans[first][0].name != "MARK":
        raise RQPayloadError("its data is not pickled as RQ pickles a call")
    body = spans[first + 1 :]
    depths = _depths(body)
    # The outer tuple is built by the first TUPLE that finds the stack at its four items.
    end = next(
        (i for i, (op, _) in enumerate(body) if i and op.name == "TUPLE" and depths[i - 1] == 4),
        None,
    )
    if end is None:
        raise RQPayloadError("its data is not pickled as RQ pickles a call")
    # Element k (0-based) was built after the last moment the stack held k items or fewer.
    starts = [max((i + 1 for i in range(end) if depths[i] <= k), default=0) for k in range(4)]
    bounds = [*starts, end]
    elements = [b"".join(chunk for _, chunk in body[a:b]) for a, b in itertools.pairwise(bounds)]
    name, instance, args, kwargs = elements
    out = bytearray(b"".join(chunk for _, chunk in spans[: first + 1]))
    out += name + _POP
    out += instance if has_instance else instance + _POP
    out += args + kwargs
    out += b"".join(chunk for _, chunk in body[end:])
    return bytes(out)


def _depths(ops: list[tuple[pickletools.OpcodeInfo, bytes]]) -> list[int]:
    """The stack's height after each opcode, marks counted as items, from an empty
    stack; an opcode that would take more than the stack holds is refused."""
    depths: list[int] = []
    depth, marks = 0, []
    for op, _ in ops:
        before, after = op.stack_before, op.stack_after
        if pickletools.markobject in after:
            marks.append(depth)
            depth += 1
        elif pickletools.markobject in before:
            if not marks:
                break
            depth = marks.pop() - before.index(pickletools.markobject) + len(after)
        else:
            depth += len(after) - len(before)
        if depth < 0:
            break
        depths.append(depth)
    depths += [-1] * (len(ops) - len(depths))
    return depths


__all__ = [
    "MAX_INFLATED_BYTES",
    "ConvertedCall",
    "RQPayloadError",
    "convert_call",
    "convert_meta",
    "inflate",
    "repack_call",
]
