"""Query parameters, checked: anything out of range is a 400 that names the parameter."""

from __future__ import annotations

from collections.abc import Mapping

from flask import abort, request

from minirq import JobStatus
from minirq.exceptions import ConfigurationError, InvalidJobError
from minirq.job import validate_job_id
from minirq.queue import validate_queue_name

from .data import MAX_PAGE, MAX_PER_PAGE, REGISTRIES, RUN_ORDER_FIRST, Page
from .reports import FIGURE_WINDOWS, HISTORY_WINDOWS, MAX_STATS_MINUTES

DEFAULT_PER_PAGE = 20
MAX_FUNC_FILTER = 200
STATUSES = tuple(s.value for s in JobStatus)


def int_arg(name: str, default: int, low: int, high: int) -> int:
    text = request.args.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text, 10)
    except ValueError:
        abort(400, description=f"{name} must be a whole number, not {text[:40]!r}")
    if not low <= value <= high:
        abort(400, description=f"{name} must be between {low} and {high}, not {value}")
    return value


def page_args() -> Page:
    registry = request.args.get("registry") or "queued"
    if registry not in REGISTRIES:
        choices = ", ".join(REGISTRIES)
        abort(400, description=f"unknown registry {registry[:40]!r}; choose one of {choices}")
    # Queued and scheduled jobs list in the order they will run; ended ones newest first.
    order = request.args.get("order") or ("asc" if registry in RUN_ORDER_FIRST else "desc")
    if order not in ("asc", "desc"):
        abort(400, description=f"order must be 'asc' or 'desc', not {order[:40]!r}")
    status = request.args.get("status") or ""
    if status and status not in STATUSES:
        choices = ", ".join(STATUSES)
        abort(400, description=f"unknown status {status[:40]!r}; choose one of {choices}")
    return Page(
        registry=registry,
        page=int_arg("page", 1, 1, MAX_PAGE),
        per_page=int_arg("per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE),
        order=order,
        func=func_arg(),
        status=status,
    )


def func_arg() -> str:
    """The function-name filter: part of a dotted name, matched without case."""
    func = (request.args.get("func") or "").strip()
    if len(func) > MAX_FUNC_FILTER or any(ord(c) < 32 for c in func):
        abort(400, description=f"func must be up to {MAX_FUNC_FILTER} printable characters")
    return func


def window_arg(choices: Mapping[str, object], default: str) -> str:
    window = request.args.get("window") or default
    if window not in choices:
        abort(400, description=f"window must be one of {', '.join(choices)}, not {window[:40]!r}")
    return window


def history_window() -> str:
    return window_arg(HISTORY_WINDOWS, "hour")


def figures_window() -> str:
    return window_arg(FIGURE_WINDOWS, "hour")


def minutes_arg() -> int:
    return int_arg("minutes", 60, 1, MAX_STATS_MINUTES)


def queue_name(name: str) -> str:
    try:
        return validate_queue_name(name)
    except ConfigurationError as exc:
        abort(400, description=str(exc))


def worker_name(value: str) -> str:
    if not value or len(value) > 200 or any(ord(c) < 32 for c in value):
        abort(400, description="a worker name is 1 to 200 printable characters")
    return value


def job_id(value: str) -> str:
    try:
        return validate_job_id(value)
    except InvalidJobError as exc:
        abort(400, description=str(exc))
