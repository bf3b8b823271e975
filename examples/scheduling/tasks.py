"""Job functions for the scheduling example."""

from __future__ import annotations

from minirq import get_current_job


def remind(text: str) -> str:
    return f"reminder: {text}"


def tick() -> str:
    return "tick"


def fetch_prices(url: str) -> str:
    """Fails on its first two tries, as a flaky upstream service would.

    It counts its tries in ``job.meta``, which is saved on the job and kept across retries.
    """
    job = get_current_job()
    assert job is not None
    job.meta["tries"] = tries = job.meta.get("tries", 0) + 1
    job.save_meta()
    if tries < 3:
        raise ConnectionError(f"{url} timed out (try {tries})")
    return f"prices from {url}"
