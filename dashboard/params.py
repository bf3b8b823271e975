"""Query parameters, checked: anything out of range is a 400 that names the parameter."""

from __future__ import annotations

from flask import abort, request

from minirq.exceptions import ConfigurationError, InvalidJobError
from minirq.job import validate_job_id
from minirq.queue import validate_queue_name

from .data import MAX_PAGE, MAX_PER_PAGE, MAX_STATS_MINUTES, REGISTRIES, Page

DEFAULT_PER_PAGE = 20


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
    order = request.args.get("order") or "desc"
    if order not in ("asc", "desc"):
        abort(400, description=f"order must be 'asc' or 'desc', not {order[:40]!r}")
    return Page(
        registry=registry,
        page=int_arg("page", 1, 1, MAX_PAGE),
        per_page=int_arg("per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE),
        order=order,
    )


def minutes_arg() -> int:
    return int_arg("minutes", 60, 1, MAX_STATS_MINUTES)


def queue_name(name: str) -> str:
    try:
        return validate_queue_name(name)
    except ConfigurationError as exc:
        abort(400, description=str(exc))


def job_id(value: str) -> str:
    try:
        return validate_job_id(value)
    except InvalidJobError as exc:
        abort(400, description=str(exc))
