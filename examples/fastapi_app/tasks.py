"""The jobs: async functions the async worker runs on its event loop (any worker can)."""

from __future__ import annotations

import asyncio


async def count_words(text: str, delay_s: float = 0.05) -> dict[str, int]:
    """Stands for I/O-bound work (an HTTP call, a webhook): awaits, then answers."""
    await asyncio.sleep(delay_s)
    words = text.split()
    return {"words": len(words), "characters": len(text)}
