"""What the dashboard shows of the limits: each limit's key, its use (running jobs
against its concurrency, starts in its window against its rate) and the queued jobs
that carry it, as JSON-ready dicts. Read only and bounded (see
:func:`minirq.store.limits.limits_view`); a stored value that does not decode shows as
a problem, never fails the page."""

from __future__ import annotations

from typing import Any

from minirq.store.limits import LimitUse, limits_view

from .data import Source, queue_names

# Queued ids looked at per queue to count what waits on each limit.
WAITING_SCAN = 200


def _row(use: LimitUse) -> dict[str, Any]:
    limit = use.limit
    return {
        "key": limit.key,
        "concurrency": limit.concurrency,
        "running": use.running,
        "rate": limit.rate,
        "starts_in_window": use.starts_in_window,
        "waiting": use.waiting,
        "waiting_more": use.waiting_more,
        "waiting_ids": use.waiting_ids,
        "queues": use.queues,
    }


def limits_data(source: Source) -> dict[str, Any]:
    view = limits_view(source.connection, source.keys, queue_names(source), WAITING_SCAN)
    return {
        "limits": [_row(use) for use in view.uses],
        "problems": [f"{where}: {what}" for where, what in sorted(view.problems.items())],
        "waiting_scan": WAITING_SCAN,
    }
