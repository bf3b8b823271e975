"""minirq, from this checkout: the forking Worker, SimpleWorker and the prefork pool."""

from __future__ import annotations

import minirq
from peers import rqlike

SETUPS = rqlike.setups("minirq")


def producer(url: str) -> rqlike.Producer:
    return rqlike.Producer(minirq, url)
