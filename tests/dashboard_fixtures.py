"""Job functions for the dashboard tests (importable by forked workers)."""

from __future__ import annotations


class PaymentDeclined(Exception):
    pass


def decline(card: str) -> None:
    raise PaymentDeclined(f"card {card} was declined: insufficient funds")


def fail_with(message: str) -> None:
    raise ValueError(message)
