"""RQ's module name for :class:`~minirq.Repeat` (``from minirq.repeat import Repeat``)."""

from .retry import Repeat

__all__ = ["Repeat"]
