"""RQ's layout for the import tests: the backlog real RQ 2.12 wrote, and hand-made damage.

``tests/rq_backlog/rq_2_12.json`` was written by ``tests/rq_backlog/generate.py`` running
real RQ 2.12 (and its worker, for the failed and retried jobs); :func:`load_backlog`
writes its keys back into a Redis, values and times to live as RQ left them.
"""

from __future__ import annotations

import base64
import json
import pickle
import zlib
from pathlib import Path
from typing import Any

import redis

BACKLOG = Path(__file__).resolve().parent / "rq_backlog" / "rq_2_12.json"


def _bytes(text: str) -> bytes:
    return base64.b64decode(text)


def backlog() -> dict[str, Any]:
    return json.loads(BACKLOG.read_text())  # type: ignore[no-any-return]


def load_backlog(connection: redis.Redis) -> dict[str, str]:
    """Write the fixture's keys; returns its job ids by role (see generate.py)."""
    document = backlog()
    with connection.pipeline(transaction=False) as pipe:
        for entry in document["keys"]:
            key, kind, value = entry["key"], entry["type"], entry["value"]
            if kind == "hash":
                pipe.hset(key, mapping={_bytes(f): _bytes(v) for f, v in value.items()})
            elif kind == "list":
                pipe.rpush(key, *[_bytes(v) for v in value])
            elif kind == "set":
                pipe.sadd(key, *[_bytes(v) for v in value])
            elif kind == "zset":
                pipe.zadd(key, {_bytes(m): s for m, s in value})
            elif kind == "stream":
                for entry_id, fields in value:
                    pipe.xadd(key, {_bytes(f): _bytes(v) for f, v in fields.items()}, id=entry_id)
            else:
                pipe.set(key, _bytes(value))
            if entry["pttl"] > 0:
                pipe.pexpire(key, entry["pttl"])
        pipe.execute()
    return dict(document["ids"])


def rq_data(func_name: str, *args: Any, instance: Any = None, **kwargs: Any) -> bytes:
    """A call stored as RQ stores it."""
    return zlib.compress(pickle.dumps((func_name, instance, args, kwargs), protocol=5))


def write_rq_job(
    connection: redis.Redis,
    job_id: str,
    queue: str = "default",
    *,
    data: bytes | None = None,
    status: str = "queued",
    **fields: Any,
) -> None:
    """An RQ job hash (as RQ 2.12 writes one) in RQ's queue list."""
    mapping: dict[str, Any] = {
        "status": status,
        "created_at": "2026-01-02T03:04:05.000006Z",
        "data": data if data is not None else rq_data("tests.rq_import_jobs.add", 1, 2),
        "origin": queue,
        "timeout": 180,
        **fields,
    }
    connection.hset(f"rq:job:{job_id}", mapping=mapping)
    connection.rpush(f"rq:queue:{queue}", job_id)
    connection.sadd("rq:queues", f"rq:queue:{queue}")
