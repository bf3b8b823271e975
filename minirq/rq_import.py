"""Bring an RQ 2.x backlog over: ``minirq import-rq`` (and :func:`import_rq` from Python).

Every queued, scheduled, deferred and failed job of the chosen RQ queues moves into
minirq's layout, each in one atomic step, and is removed from RQ:

- **Same Redis database** (RQ's keys beside minirq's): one script (``rq_move.lua``) writes
  the job under minirq's keys and deletes RQ's copy in the same step; a crash leaves each
  job entirely in one place.
- **Another Redis** (or database): ``rq_import.lua`` writes the job here together with a
  ledger entry (RQ's id and ``created_at``), then ``rq_release.lua`` removes it from RQ's
  Redis, then the ledger entry is dropped. A crash between leaves the job in both; the
  next run finds it in the ledger and only removes RQ's copy, so it never runs twice, even
  if a minirq worker ran and deleted it meanwhile.

A job that cannot be carried over exactly (bytes that do not decode, an unknown status,
an id a live minirq job has, ...) is reported with its reason and left in RQ; re-running
the import is always safe. Nothing here unpickles RQ's bytes (see :mod:`minirq.rq_payload`).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import redis

from .exceptions import ConfigurationError
from .keys import Keys, RQKeys
from .rq_convert import Converted, Place, Refusal, convert
from .serializers import Serializer, resolve_serializer
from .store import import_calls, runner_for
from .store.import_calls import ImportReply
from .store.record import text_or_none

logger = logging.getLogger("minirq.rq_import")

RQ_KEYS = RQKeys()
# Jobs read and written per round trip.
BATCH = 500
# The order of the passes: deferred jobs last, once the parents they wait for are here.
STATES = ("queued", "scheduled", "failed", "deferred")
# RQ's places this import leaves alone, as (label, key kind, is a list).
LEFT_ALONE = (
    ("started", "wip", False),
    ("finished", "finished", False),
    ("canceled", "canceled", False),
    ("being fetched", "intermediate", True),
)
# RQ statuses of a parent that this import brings over.
IMPORTED_STATUSES = frozenset({"queued", "scheduled", "deferred", "failed", "stopped"})


@dataclass
class ImportReport:
    """What an import moved, what it could not, and what it left alone, by queue."""

    same_redis: bool
    dry_run: bool
    moved: Counter[tuple[str, str]] = field(default_factory=Counter)
    refused: list[Refusal] = field(default_factory=list)
    left_alone: Counter[tuple[str, str]] = field(default_factory=Counter)
    # Jobs found already imported by an earlier run (their RQ copy is removed now).
    already: Counter[tuple[str, str]] = field(default_factory=Counter)

    @property
    def moved_total(self) -> int:
        return sum(self.moved.values())


def _database(connection: redis.Redis) -> tuple[Any, Any]:
    run_id = connection.info("server").get("run_id")
    return run_id, connection.connection_pool.connection_kwargs.get("db", 0)


def same_database(source: redis.Redis, target: redis.Redis) -> bool:
    """Whether two clients reach the same database of the same Redis server."""
    return _database(source) == _database(target)


def _places(source: redis.Redis, queues: Sequence[str] | None) -> list[str]:
    known = import_calls.rq_queue_names(source)
    if queues is None:
        return known
    unknown = [q for q in queues if q not in known]
    if unknown:
        raise ConfigurationError(
            f"RQ's Redis has no queue named {', '.join(map(repr, unknown))} "
            f"(its queues: {', '.join(known) or 'none'})"
        )
    return list(dict.fromkeys(queues))


def _place(queue: str, state: str) -> Place:
    key = RQ_KEYS.queue(queue) if state == "queued" else RQ_KEYS.registry(state, queue)
    return Place(queue, state, key)


class _Import:
    """One run: the clients, settings and the report being filled."""

    def __init__(
        self,
        source: redis.Redis,
        target: redis.Redis,
        keys: Keys,
        serializer: Serializer,
        queues: list[str],
        dry_run: bool,
        same: bool,
    ) -> None:
        self.source, self.target, self.keys = source, target, keys
        self.serializer, self.queues, self.dry_run = serializer, queues, dry_run
        self.report = ImportReport(same_redis=same, dry_run=dry_run)
        self.not_imported: set[str] = set()

    def run(self) -> ImportReport:
        deferred: list[tuple[Place, bytes, float]] = []
        for state in STATES:
            for queue in self.queues:
                place = _place(queue, state)
                members = import_calls.rq_place_members(self.source, place.key, place.is_list)
                if state == "deferred":
                    deferred += [(place, m, s) for m, s in members]
                    continue
                for start in range(0, len(members), BATCH):
                    self._batch(place, members[start : start + BATCH])
        self._deferred(deferred)
        self._count_left_alone()
        if not self.dry_run and not self.report.same_redis:
            self._sweep_ledger()
        return self.report

    def _ids(self, place: Place, members: Iterable[tuple[bytes, float]]) -> list[tuple[str, float]]:
        found = []
        for member, score in members:
            job_id = text_or_none(member)
            if job_id is None:
                self._refuse(Refusal(place, repr(member)[:60], "its id is not UTF-8 text"))
            else:
                found.append((job_id, score))
        return found

    def _refuse(self, refusal: Refusal) -> None:
        self.report.refused.append(refusal)
        self.not_imported.add(refusal.job_id)
        logger.warning(
            "not imported: %s %s %s: %s",
            refusal.place.queue,
            refusal.place.state,
            refusal.job_id,
            refusal.reason,
        )

    def _convert(self, place: Place, members: Sequence[tuple[bytes, float]]) -> list[Converted]:
        ids = self._ids(place, members)
        raws = import_calls.rq_load_many(self.source, [job_id for job_id, _ in ids])
        ready = []
        for (job_id, score), raw in zip(ids, raws, strict=True):
            outcome = convert(job_id, place, score, raw, self.serializer)
            if isinstance(outcome, Refusal):
                self._refuse(outcome)
            else:
                ready.append(outcome)
        return ready

    def _batch(self, place: Place, members: Sequence[tuple[bytes, float]]) -> None:
        self._write(place, self._convert(place, members))

    def _deferred(self, found: list[tuple[Place, bytes, float]]) -> None:
        """Deferred jobs, parents before children, each knowing what its parents are."""
        converted: dict[str, tuple[Place, Converted]] = {}
        by_place: dict[Place, list[tuple[bytes, float]]] = {}
        for place, member, score in found:
            by_place.setdefault(place, []).append((member, score))
        for place, members in by_place.items():
            for start in range(0, len(members), BATCH):
                for item in self._convert(place, members[start : start + BATCH]):
                    converted[item.job.job_id] = (place, item)
        parent_ids = sorted({p for _, c in converted.values() for p in c.rq_job.dependency_ids})
        statuses = import_calls.rq_statuses(self.source, parent_ids) if parent_ids else {}
        for job_id in _parents_first(converted):
            place, item = converted[job_id]
            self._write_deferred(place, item, statuses)

    def _write_deferred(
        self, place: Place, item: Converted, statuses: dict[str, str | None]
    ) -> None:
        parents: list[tuple[str, bool]] = []
        allow_failure = item.rq_job.allow_dependency_failures
        for parent_id in item.rq_job.dependency_ids:
            status = statuses.get(parent_id)
            done = status in (None, "finished") or (
                allow_failure and status in ("failed", "stopped")
            )
            if not done and parent_id in self.not_imported:
                self._refuse(
                    Refusal(
                        place,
                        item.job.job_id,
                        f"it waits for job {parent_id}, which was not imported",
                    )
                )
                return
            if not done and (status not in IMPORTED_STATUSES or not self._selected(parent_id)):
                self._refuse(
                    Refusal(
                        place,
                        item.job.job_id,
                        f"it waits for job {parent_id}, which RQ has as {status} and this import "
                        "does not bring over (import its queue too, or let it end in RQ first)",
                    )
                )
                return
            parents.append((parent_id, done))
        job = import_calls.ImportedJob(**{**vars(item.job), "parents": parents})
        self._write(place, [Converted(job, item.rq_job)])

    def _selected(self, parent_id: str) -> bool:
        origin = self.source.hget(RQ_KEYS.job(parent_id), "origin")
        return text_or_none(origin) in self.queues if isinstance(origin, bytes) else False

    def _write(self, place: Place, ready: list[Converted]) -> None:
        if not ready:
            return
        jobs = [item.job for item in ready]
        if self.dry_run:
            self._dry_run(place, jobs)
            return
        runner = runner_for(self.target)
        build = import_calls.rq_move if self.report.same_redis else import_calls.rq_import
        replies = runner.run_many([build(self.keys, job) for job in jobs])
        to_release = []
        for job, reply in zip(jobs, replies, strict=True):
            if isinstance(reply, Exception):
                self._refuse(Refusal(place, job.job_id, f"Redis refused the import: {reply}"))
            elif self._recorded(place, job, reply):
                to_release.append(job)
        if to_release and not self.report.same_redis:
            self._release(place, to_release)

    def _recorded(self, place: Place, job: import_calls.ImportedJob, reply: ImportReply) -> bool:
        """Count one reply; whether RQ's copy is to be removed now."""
        if reply.code == 1:
            self.report.moved[(place.queue, reply.status)] += 1
            return True
        if reply.code == 2:
            self.report.already[(place.queue, place.state)] += 1
            return True
        if reply.code == 3:
            self._refuse(
                Refusal(place, job.job_id, "RQ changed the job while it was read; run again")
            )
            return False
        self._refuse(
            Refusal(
                place,
                job.job_id,
                f"a live minirq job has this id ({reply.status} in queue {reply.queue!r})",
            )
        )
        return False

    def _release(self, place: Place, jobs: list[import_calls.ImportedJob]) -> None:
        released = runner_for(self.source).run_many([import_calls.rq_release(job) for job in jobs])
        for job, reply in zip(jobs, released, strict=True):
            if reply != 1:
                logger.warning(
                    "imported %s, but RQ's copy changed meanwhile: left in RQ", job.job_id
                )
        import_calls.forget_imported(
            self.target,
            self.keys,
            [
                job.job_id
                for job, r in zip(jobs, released, strict=True)
                if not isinstance(r, Exception)
            ],
        )

    def _dry_run(self, place: Place, jobs: list[import_calls.ImportedJob]) -> None:
        existing = import_calls.target_statuses(self.target, self.keys, [j.job_id for j in jobs])
        for job in jobs:
            live = existing.get(job.job_id)
            if live is not None and live[0] in ("queued", "scheduled", "deferred", "started"):
                self._refuse(
                    Refusal(
                        place,
                        job.job_id,
                        f"a live minirq job has this id ({live[0]} in queue {live[1]!r})",
                    )
                )
            else:
                self.report.moved[(place.queue, job.status)] += 1

    def _count_left_alone(self) -> None:
        for queue in self.queues:
            for label, kind, is_list in LEFT_ALONE:
                if kind == "intermediate":
                    key = f"{RQ_KEYS.queue(queue)}:intermediate"
                else:
                    key = RQ_KEYS.registry(kind, queue)
                count = import_calls.rq_count(self.source, key, is_list)
                if count:
                    self.report.left_alone[(queue, label)] += count

    def _sweep_ledger(self) -> None:
        ids = import_calls.ledger_ids(self.target, self.keys)
        for start in range(0, len(ids), BATCH):
            gone = import_calls.rq_missing(self.source, ids[start : start + BATCH])
            import_calls.forget_imported(self.target, self.keys, gone)


def _parents_first(converted: dict[str, tuple[Place, Converted]]) -> list[str]:
    """The ids of ``converted`` with every deferred parent before its children."""
    ordered: list[str] = []
    seen: set[str] = set()
    for root in sorted(converted):
        stack = [(root, False)]
        while stack:
            job_id, expanded = stack.pop()
            if expanded:
                ordered.append(job_id)
                continue
            if job_id in seen or job_id not in converted:
                continue
            seen.add(job_id)
            stack.append((job_id, True))
            for parent in converted[job_id][1].rq_job.dependency_ids:
                stack.append((parent, False))
    return ordered


def import_rq(
    source: redis.Redis,
    target: redis.Redis,
    *,
    prefix: str | None = None,
    queues: Sequence[str] | None = None,
    serializer: Serializer | str | None = None,
    dry_run: bool = False,
) -> ImportReport:
    """Move RQ's queued, scheduled, deferred and failed jobs of ``queues`` (default: every
    queue RQ knows) from ``source`` into minirq's layout on ``target``.

    ``serializer`` is the one minirq's workers use (pickle by default): with pickle, RQ's
    pickled arguments are carried over byte for byte; with another, only plain values.
    Raises :class:`ConfigurationError` for an unknown queue, or for minirq's prefix
    ``rq`` on RQ's own database; everything else is in the :class:`ImportReport`.
    """
    keys = Keys(prefix)
    same = same_database(source, target)
    if same and keys.prefix == "rq":
        raise ConfigurationError(
            "minirq's prefix 'rq' would share RQ's key names on the same Redis database; "
            "choose another prefix (the default is 'minirq')"
        )
    chosen = _places(source, queues)
    run = _Import(source, target, keys, resolve_serializer(serializer), chosen, dry_run, same)
    return run.run()


__all__ = ["ImportReport", "import_rq", "same_database"]
