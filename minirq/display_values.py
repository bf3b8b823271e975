"""Decode stored job values for display, without ever running code from Redis.

Processes that only show data (the dashboard, ``minirq info``) must not call the job
serializer: ``pickle.loads`` on bytes anyone with Redis access wrote runs their code. Here
pickles go through an unpickler that resolves no globals: every class or function a pickle
names becomes an inert :class:`Opaque` placeholder labelled with that name, so plain values
(``('cus_0', 1999)``, lists, dicts, sets, bytes, numbers) show as they are and anything else
as ``<datetime.datetime object, not decoded>``. JSON is decoded as JSON. Nothing here raises
on any input: bytes that decode as neither come back as :class:`Undecodable`.
"""

from __future__ import annotations

import io
import json
import pickle
import pickletools
from typing import Any

# The first byte of a pickle of protocol 2 or later (the PROTO opcode).
_PICKLE_PROTO = 0x80
# Placeholder classes keep at most this much of a pickled name.
_NAME_LIMIT = 200
# Opcodes whose argument the C unpickler trusts for an allocation: a memo index (the memo
# grows to it) or a frame length. A real pickle never names more than its own length.
_SIZED_OPCODES = frozenset({"PUT", "BINPUT", "LONG_BINPUT", "FRAME"})
# Out-of-band buffers and bytearrays: never in a job's stored value, and malformed ones
# trip CPython's unpickler into errors it reports outside the caller.
_REFUSED_OPCODES = frozenset({"NEXT_BUFFER", "READONLY_BUFFER", "BYTEARRAY8"})


class Opaque:
    """Stands in for an object of a class the pickle names; holds nothing of its state."""

    __slots__ = ()
    label = "?"

    def __new__(cls, *args: Any, **kwargs: Any) -> Opaque:
        return object.__new__(cls)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __call__(self, *args: Any, **kwargs: Any) -> Opaque:
        return _placeholder(f"{self.label}(...)")()

    def __setstate__(self, state: Any) -> None:
        pass

    # A pickle may append or set items on any object it built; a placeholder drops them.
    def append(self, item: Any) -> None:
        pass

    def extend(self, items: Any) -> None:
        pass

    def __setitem__(self, key: Any, value: Any) -> None:
        pass

    def __repr__(self) -> str:
        return f"<{self.label} object, not decoded>"


class Undecodable:
    """A stored value that is neither a readable pickle nor JSON."""

    __slots__ = ("reason", "size")

    def __init__(self, size: int, reason: str) -> None:
        self.size = size
        self.reason = reason

    def __repr__(self) -> str:
        return f"<undecodable value: {self.size} bytes, {self.reason}>"


def _placeholder(name: str) -> type[Opaque]:
    label = "".join(c if c.isprintable() else "?" for c in name[:_NAME_LIMIT])
    return type("Opaque", (Opaque,), {"__slots__": (), "label": label})


class _NoGlobalsUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        return _placeholder(f"{module}.{name}")

    def persistent_load(self, pid: Any) -> Any:
        return _placeholder("persistent id")()


def loads_for_display(data: bytes | None) -> Any:
    """The value stored in ``data`` made of plain Python values and placeholders."""
    if data is None:
        return None
    if not data:
        return Undecodable(0, "empty")
    if data[0] == _PICKLE_PROTO:
        return _unpickle(data)
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        # Protocol 0 and 1 pickles have no PROTO opcode in front.
        return _unpickle(data)


def _unpickle(data: bytes) -> Any:
    try:
        _check_opcodes(data)
        return _NoGlobalsUnpickler(io.BytesIO(data)).load()
    except Exception as exc:
        return Undecodable(len(data), f"not a readable pickle or JSON ({type(exc).__name__})")


def _check_opcodes(data: bytes) -> None:
    """Refuse, before unpickling, a pickle that would make the unpickler allocate far more
    than its own size (a corrupt memo index asks for gigabytes) or use buffers.

    ``pickletools.genops`` only parses: it builds no objects and reads at most ``data``.
    """
    for opcode, arg, _ in pickletools.genops(data):
        if opcode.name in _REFUSED_OPCODES:
            raise pickle.UnpicklingError(f"{opcode.name} is not shown")
        if opcode.name in _SIZED_OPCODES and isinstance(arg, int) and arg > len(data):
            raise pickle.UnpicklingError(f"{opcode.name} {arg} exceeds the pickle's size")


class DisplaySerializer:
    """A read-only serializer for :class:`~minirq.Job` objects used only to show jobs."""

    name = "display"

    @staticmethod
    def loads(data: bytes) -> Any:
        return loads_for_display(data)

    @staticmethod
    def dumps(obj: Any) -> bytes:
        raise TypeError("the display serializer only decodes; it never writes job data")


DISPLAY_SERIALIZER = DisplaySerializer()

__all__ = ["DISPLAY_SERIALIZER", "DisplaySerializer", "Opaque", "Undecodable", "loads_for_display"]
