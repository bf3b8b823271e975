"""Job functions for the basic example: any importable module will do, no decorator."""

from __future__ import annotations


def count_words(text: str) -> int:
    return len(text.split())


def parse_price(text: str) -> float:
    """Fails with ValueError on text that is not a number, to show a failed job."""
    return round(float(text), 2)
