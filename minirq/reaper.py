"""The reaper: recovers jobs whose worker died (see :mod:`minirq.store.reap`, where it
lives beside the other store steps so that schedulers and workers share it)."""

from __future__ import annotations

from .store.reap import reap_expired_leases

__all__ = ["reap_expired_leases"]
