"""RQ 2.12: its forking Worker, SimpleWorker and WorkerPool (of forking workers)."""

from __future__ import annotations

import rq

from peers import rqlike

SETUPS = rqlike.setups("rq")


def producer(url: str) -> rqlike.Producer:
    return rqlike.Producer(rq, url)
