"""Limits in Redis, outside the fetch step: the queues' default limits (written by
producers, read by ``fetch.lua``) and bounded, read-only views of each limit's use.

Every value read here is untrusted: one that does not decode is skipped (and named),
never raised.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import redis

from ..keys import Keys
from ..limits import Limit, decode_limit
from .jobs import server_time_ms
from .record import field_name, text_or_none


def decode_stored_limit(raw: Any) -> tuple[Limit | None, str | None]:
    """A limit as stored (bytes), and what is wrong with it. Never raises."""
    text = text_or_none(raw) if isinstance(raw, bytes | str) else None
    if text is None:
        return None, "is not UTF-8 text"
    return decode_limit(text)


def set_queue_limit(connection: redis.Redis, keys: Keys, queue: str, limit: Limit | None) -> None:
    """Make ``limit`` the default of ``queue`` for every worker (``None`` removes it), and
    wake the queue's idle workers so that they look at its jobs again."""
    with connection.pipeline(transaction=True) as pipe:
        if limit is None:
            pipe.hdel(keys.queue_limits, queue)
        else:
            pipe.hset(keys.queue_limits, queue, limit.encoded())
        pipe.publish(keys.wake_channel(queue), "1")
        pipe.publish(keys.limits_wake_channel, "1")
        pipe.execute()


def queue_limit(connection: redis.Redis, keys: Keys, queue: str) -> Limit | None:
    """The default limit of ``queue`` (``None`` without one, or when it is unreadable)."""
    try:
        raw = connection.hget(keys.queue_limits, queue)
    except redis.ResponseError:
        return None
    return None if raw is None else decode_stored_limit(raw)[0]


@dataclass(frozen=True)
class QueueDefaults:
    """The default limits of some queues as a fetch takes them (name -> stored text), and
    what is wrong with those that cannot be read (key -> a sentence to log)."""

    texts: dict[str, str]
    problems: dict[str, str]


# What a fetch is given for a default that is not text: it spells no limit, so the jobs
# relying on it are held back.
_UNREADABLE = "?"


def queue_limit_texts(raw: Any, queues: Iterable[str] | None) -> QueueDefaults:
    """The defaults of ``queues`` (``None``: of every queue) from the queue-limits hash as
    ``HGETALL`` (in a pipeline) returned it. A default that does not decode is still
    passed on, so that ``fetch.lua`` holds back the jobs relying on it; a hash of the
    wrong type holds no defaults. Never raises."""
    if not isinstance(raw, dict):
        wrong_type = "the queue-limits hash is not a hash; no queue has a default limit"
        return QueueDefaults({}, {"": wrong_type} if isinstance(raw, Exception) else {})
    wanted = None if queues is None else set(queues)
    texts: dict[str, str] = {}
    problems: dict[str, str] = {}
    for raw_name, value in raw.items():
        queue = text_or_none(raw_name) if isinstance(raw_name, bytes | str) else None
        if queue is None or (wanted is not None and queue not in wanted):
            continue
        limit, problem = decode_stored_limit(value)
        texts[queue] = text_or_none(value) or _UNREADABLE
        if limit is None:
            problems[f"{queue} {texts[queue]}"] = (
                f"queue {queue!r}: its default limit {problem}; its jobs without a limit "
                "of their own wait until it is fixed"
            )
    return QueueDefaults(texts, problems)


@dataclass
class LimitUse:
    """What one limit is doing now, on Redis's clock.

    ``running``: jobs holding one of its slots; ``starts_in_window``: starts logged in
    its rate window; ``waiting``: queued jobs carrying it among the first ``scan`` of
    each queue, with the first few ids in ``waiting_ids`` (``waiting_more`` when a queue
    was longer than the scan).
    """

    limit: Limit
    running: int = 0
    starts_in_window: int = 0
    waiting: int = 0
    waiting_ids: list[str] = field(default_factory=list)
    waiting_more: bool = False
    queues: list[str] = field(default_factory=list)


@dataclass
class LimitsView:
    uses: list[LimitUse]
    # Stored values that did not decode: "<hash> <field>" -> what is wrong.
    problems: dict[str, str]


_SHOWN_WAITING_IDS = 5


def _known_limits(
    connection: redis.Redis, keys: Keys, problems: dict[str, str]
) -> tuple[dict[str, Limit], dict[str, Limit]]:
    """Every limit a worker started a job under, and the queues' defaults."""
    known: dict[str, Limit] = {}
    defaults: dict[str, Limit] = {}
    for hash_key, into in ((keys.limits, known), (keys.queue_limits, defaults)):
        try:
            raw = connection.hgetall(hash_key)
        except redis.ResponseError:
            problems[hash_key] = "is not a hash"
            continue
        for raw_name, raw_value in raw.items():
            name = text_or_none(raw_name)
            limit, problem = decode_stored_limit(raw_value)
            if name is None or limit is None:
                problems[f"{hash_key} {name or repr(raw_name)[:40]}"] = problem or "bad name"
            else:
                into[name] = limit
    return known, defaults


def _waiting(
    connection: redis.Redis,
    keys: Keys,
    queues: Iterable[str],
    defaults: dict[str, Limit],
    scan: int,
    uses: dict[str, LimitUse],
) -> None:
    """Count the queued jobs of each limit among the first ``scan`` of every queue."""
    limit_field = field_name("limit")
    for queue in queues:
        try:
            texts = [text_or_none(i) for i in connection.lrange(keys.queue(queue), 0, scan)]
        except redis.ResponseError:
            continue
        more = len(texts) > scan
        ids = [i for i in texts[:scan] if i is not None]
        with connection.pipeline(transaction=False) as pipe:
            for job_id in ids:
                pipe.hget(keys.job(job_id), limit_field)
            raws = pipe.execute(raise_on_error=False)
        for job_id, raw in zip(ids, raws, strict=True):
            limit = decode_stored_limit(raw)[0] if isinstance(raw, bytes | str) else None
            limit = limit or (defaults.get(queue) if raw is None else None)
            if limit is None:
                continue
            use = uses.setdefault(limit.key, LimitUse(limit))
            use.waiting += 1
            use.waiting_more = use.waiting_more or more
            if len(use.waiting_ids) < _SHOWN_WAITING_IDS:
                use.waiting_ids.append(job_id)
            if queue not in use.queues:
                use.queues.append(queue)


def limits_view(
    connection: redis.Redis, keys: Keys, queues: Iterable[str], scan: int = 500
) -> LimitsView:
    """Each known limit's use, and what waits on it in ``queues`` (read only, bounded:
    ``scan`` ids per queue and three commands per limit)."""
    problems: dict[str, str] = {}
    known, defaults = _known_limits(connection, keys, problems)
    uses = {key: LimitUse(limit) for key, limit in known.items()}
    for queue, limit in defaults.items():
        use = uses.setdefault(limit.key, LimitUse(limit))
        if queue not in use.queues:
            use.queues.append(queue)
    _waiting(connection, keys, queues, defaults, scan, uses)
    now = server_time_ms(connection)
    ordered = sorted(uses.values(), key=lambda u: u.limit.key)
    with connection.pipeline(transaction=False) as pipe:
        for use in ordered:
            pipe.zcount(keys.limit_slots(use.limit.key), f"({now}", "+inf")
            window = use.limit.rate_window_ms or 0
            pipe.zcount(keys.limit_starts(use.limit.key), f"({now - window}", "+inf")
        counts = pipe.execute(raise_on_error=False)
    for i, use in enumerate(ordered):
        running, starts = counts[2 * i], counts[2 * i + 1]
        use.running = running if isinstance(running, int) else 0
        use.starts_in_window = starts if isinstance(starts, int) else 0
    return LimitsView(ordered, problems)
