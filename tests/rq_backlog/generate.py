"""Write ``rq_2_12.json``: an RQ 2.12 backlog as real RQ wrote it, key by key.

Run with a Python that has ``rq==2.12.0`` installed, from the repository's root::

    python3 -m venv bench/.venv-rq && bench/.venv-rq/bin/pip install rq==2.12.0
    bench/.venv-rq/bin/python tests/rq_backlog/generate.py

It starts a private ``redis-server``, enqueues jobs in every state RQ has (queued,
scheduled, deferred, failed, a retry waiting in the scheduled set, canceled, finished),
runs RQ's own worker where a state needs one, and dumps every key with its type, value
and remaining time to live. ``tests/rq_backlog/load.py`` writes them back.
"""

from __future__ import annotations

import base64
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis
import rq
from rq import Callback, Queue, Retry, SimpleWorker
from rq.serializers import JSONSerializer

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from tests import rq_import_jobs as jobs  # noqa: E402

# Failed jobs are kept this long, so that the fixture's failed registry stays in date.
FIXTURE_FAILURE_TTL_S = 50 * 365 * 24 * 3600


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


def dump(connection: redis.Redis) -> list[dict[str, Any]]:
    """Every key of the database: name, type, remaining ms to live (-1: none), value."""
    entries = []
    for key in sorted(connection.keys("*")):
        kind = connection.type(key).decode()
        value: Any
        if kind == "hash":
            value = {_b64(f): _b64(v) for f, v in connection.hgetall(key).items()}
        elif kind == "list":
            value = [_b64(v) for v in connection.lrange(key, 0, -1)]
        elif kind == "set":
            value = sorted(_b64(v) for v in connection.smembers(key))
        elif kind == "zset":
            value = [[_b64(m), s] for m, s in connection.zrange(key, 0, -1, withscores=True)]
        elif kind == "stream":
            value = [
                [i.decode(), {_b64(f): _b64(v) for f, v in fields.items()}]
                for i, fields in connection.xrange(key)
            ]
        elif kind == "string":
            value = _b64(connection.get(key))
        else:
            raise SystemExit(f"unexpected key type {kind} for {key!r}")
        entries.append(
            {"key": key.decode(), "type": kind, "pttl": connection.pttl(key), "value": value}
        )
    return entries


def write_backlog(connection: redis.Redis) -> dict[str, str]:
    """Enqueue the backlog; returns the ids the tests look for, by role."""
    default = Queue("default", connection=connection)
    low = Queue("low", connection=connection)
    failing = Queue("failing", connection=connection)
    done = Queue("done", connection=connection)
    json_queue = Queue("jsonq", connection=connection, serializer=JSONSerializer)
    ids: dict[str, str] = {}

    ids["add"] = default.enqueue(jobs.add, 2, 3).id
    ids["greet"] = default.enqueue(jobs.greet, "ada", punctuation="!").id
    ids["day_of"] = default.enqueue(jobs.day_of, datetime(2024, 2, 29, 12, tzinfo=UTC)).id
    ids["method"] = default.enqueue(jobs.Counter(40).plus, 2).id
    ids["options"] = low.enqueue(
        jobs.add,
        10,
        20,
        job_id="custom-id-1",
        meta={"source": "rq"},
        description="ten plus twenty",
        result_ttl=600,
        ttl=10 * 365 * 24 * 3600,
        retry=Retry(max=2, interval=[5, 10]),
        on_success=Callback(jobs.noted_success, timeout=7),
    ).id
    ids["front"] = low.enqueue(jobs.add, 0, 1, at_front=True).id
    ids["json"] = json_queue.enqueue(jobs.add, 7, 8).id

    ids["due"] = default.enqueue_at(datetime(2020, 1, 1, tzinfo=UTC), jobs.add, 1, 1).id
    ids["future"] = default.enqueue_at(datetime(2099, 1, 1, tzinfo=UTC), jobs.add, 9, 9).id

    parent = default.enqueue(jobs.add, 4, 4)
    ids["parent"] = parent.id
    ids["child"] = default.enqueue(jobs.add, 5, 5, depends_on=parent).id

    ids["failed"] = failing.enqueue(jobs.always_fails, failure_ttl=FIXTURE_FAILURE_TTL_S).id
    ids["retrying"] = failing.enqueue(
        jobs.always_fails, retry=Retry(max=2, interval=3600), failure_ttl=FIXTURE_FAILURE_TTL_S
    ).id
    SimpleWorker([failing], connection=connection).work(burst=True)

    ids["finished"] = done.enqueue(jobs.add, 1, 2, result_ttl=-1).id
    SimpleWorker([done], connection=connection).work(burst=True)

    canceled = default.enqueue(jobs.add, 6, 6)
    canceled.cancel()
    ids["canceled"] = canceled.id
    return ids


def main() -> None:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is needed")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    workdir = tempfile.mkdtemp()
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", workdir],
        stdout=subprocess.DEVNULL,
    )
    try:
        connection = redis.Redis(port=port)
        for _ in range(200):
            try:
                connection.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        ids = write_backlog(connection)
        info = connection.info("server")
        document = {
            "generated_by": "tests/rq_backlog/generate.py",
            "rq_version": rq.__version__,
            "redis_version": info["redis_version"],
            "generated_at": datetime.now(UTC).isoformat(),
            "ids": ids,
            "keys": dump(connection),
        }
        (HERE / "rq_2_12.json").write_text(json.dumps(document, indent=1) + "\n")
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
