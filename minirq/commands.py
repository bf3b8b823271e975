"""Commands to running workers: stop a running job, shut a worker down.

Each worker listens on its own pub/sub channel (``Keys.worker_commands``). A command
reaches a worker that is running a job within half a second (it checks between reads of
its work-horse's pipe) and an idle one within about a second. Pub/sub is not stored: a
command sent while the worker is not listening is lost, which is why the senders report
whether a worker received it.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import redis

from .connection import resolve_connection
from .exceptions import InvalidJobOperation, NoSuchJobError
from .keys import Keys
from .utils import decode

logger = logging.getLogger("minirq.commands")

STOP_JOB = "stop-job"
SHUTDOWN = "shutdown"
KILL_HORSE = "kill-horse"
# The exception type recorded on a job stopped by a command.
JOB_STOPPED = "JobStopped"


def send_command(
    connection: redis.Redis | None,
    worker_name: str,
    command: str,
    prefix: str | None = None,
    **payload: Any,
) -> bool:
    """Send ``command`` (``shutdown``, ``kill-horse`` or ``stop-job`` with ``job_id=``)
    to the worker named ``worker_name``; returns whether a listening worker received it.
    Workers log and ignore commands they do not know."""
    connection = resolve_connection(connection)
    return _send(connection, Keys(prefix), worker_name, {**payload, "command": command})


def send_kill_horse_command(
    connection: redis.Redis | None, worker_name: str, prefix: str | None = None
) -> bool:
    """Kill the work-horse of the job a forking worker is running: the job fails (or is
    retried, if it has retries left) with a reason naming the command. A worker running
    no job, a ``SimpleWorker`` and a pool ignore it. Returns whether a listening worker
    received it."""
    return send_command(connection, worker_name, KILL_HORSE, prefix)


def send_stop_job_command(
    connection: redis.Redis | None,
    job_id: str,
    serializer: object = None,
    prefix: str | None = None,
) -> None:
    """Stop a running job on whichever worker runs it; it ends ``stopped``, not retried.
    ``serializer`` is accepted for RQ code: the job's data is not deserialized here.

    Raises :class:`NoSuchJobError` if the job does not exist and
    :class:`InvalidJobOperation` if it is not running or its worker is not listening.
    A job that ends on its own while the command travels keeps its own outcome.
    """
    connection = resolve_connection(connection)
    keys = Keys(prefix)
    status, worker = (decode(v) for v in connection.hmget(keys.job(job_id), "status", "worker"))
    if status is None:
        raise NoSuchJobError(f"no job with id {job_id!r}")
    if status != "started" or not worker:
        raise InvalidJobOperation(
            f"job {job_id} is {status}, not running; cancel() a queued, scheduled or "
            "deferred job instead"
        )
    if not _send(connection, keys, worker, {"command": STOP_JOB, "job_id": job_id}):
        raise InvalidJobOperation(
            f"worker {worker} running job {job_id} is not listening for commands (if it "
            "died, the reaper requeues the job when its lease runs out)"
        )


def send_shutdown_command(
    connection: redis.Redis | None, worker_name: str, prefix: str | None = None
) -> bool:
    """Ask a worker to stop as after SIGTERM (finish the current job, then exit).

    Returns whether a listening worker received the command.
    """
    connection = resolve_connection(connection)
    return _send(connection, Keys(prefix), worker_name, {"command": SHUTDOWN})


def _send(connection: redis.Redis, keys: Keys, worker: str, command: dict[str, Any]) -> bool:
    receivers = connection.publish(keys.worker_commands(worker), json.dumps(command))
    return int(receivers) > 0


class CommandListener:
    """A worker's subscription to its command channel, read without blocking."""

    def __init__(self, connection: redis.Redis, keys: Keys, worker_name: str) -> None:
        self.connection = connection
        self.channel = keys.worker_commands(worker_name)
        self._pubsub: Any = None
        # Polled many times a second: an outage is logged once, not on every poll.
        self._failing = False

    def _subscribe(self) -> None:
        pubsub = self.connection.pubsub()  # type: ignore[no-untyped-call]
        pubsub.subscribe(self.channel)
        # Wait for the confirmation, so that a command sent after this returns is heard.
        for _ in range(20):
            message = pubsub.get_message(timeout=0.1)
            if message is not None and message.get("type") == "subscribe":
                break
        self._pubsub = pubsub

    def start(self) -> None:
        """Subscribe now, before the worker is registered, so that a command sent to any
        worker listed in Redis is heard; after an outage :meth:`poll` subscribes again."""
        try:
            if self._pubsub is None:
                self._subscribe()
        except (redis.ConnectionError, redis.TimeoutError):
            self.close()

    def poll(self) -> list[dict[str, Any]]:
        """The commands received since the last call (subscribing on first use)."""
        try:
            if self._pubsub is None:
                self._subscribe()
            commands = []
            while (message := self._pubsub.get_message(timeout=0)) is not None:
                if message.get("type") != "message":
                    continue
                try:
                    command = json.loads(message["data"])
                except ValueError:
                    logger.warning("ignored a malformed command: %r", message["data"][:200])
                    continue
                if isinstance(command, dict):
                    commands.append(command)
            self._failing = False
            return commands
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            if not self._failing:
                logger.error("command channel unreachable (%s); resubscribing later", exc)
                self._failing = True
            self.close()
            return []

    def close(self) -> None:
        if self._pubsub is not None:
            try:
                self._pubsub.close()
            except Exception:
                logger.debug("closing the command subscription failed", exc_info=True)
            self._pubsub = None
