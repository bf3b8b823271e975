"""The HTML pages: each renders its data once, then its script keeps it fresh from the API."""

from __future__ import annotations

from flask import abort, redirect, request, url_for
from flask.typing import ResponseReturnValue

from minirq.utils import now_ms

from . import actions, data, limits, params, reports, workers
from .api import job_detail_or_broken, known_queue, overview_data
from .app import EXTENSION, blueprint, render_page, source

# Which actions apply to a job in each status (the job page shows only those).
JOB_ACTIONS = {
    "requeue": ("failed", "stopped", "canceled"),
    "cancel": ("queued", "scheduled", "deferred"),
    "enqueue-now": ("scheduled",),
    "stop": ("started",),
    "delete": ("queued", "scheduled", "deferred", "finished", "failed", "stopped", "canceled"),
}
# Which bulk actions the list of each registry offers.
LIST_ACTIONS = {
    "queued": ("cancel", "delete"),
    "started": (),
    "scheduled": ("enqueue-now", "cancel", "delete"),
    "deferred": ("cancel", "delete"),
    "finished": ("delete",),
    "failed": ("requeue", "delete"),
    "canceled": ("requeue", "delete"),
}
# The statuses a job listed in each registry can have (the list's status filter).
REGISTRY_STATUSES = {
    "queued": ("queued",),
    "started": ("started",),
    "scheduled": ("scheduled",),
    "deferred": ("deferred",),
    "finished": ("finished",),
    "failed": ("failed", "stopped"),
    "canceled": ("canceled",),
}


@blueprint.get("/", endpoint="overview")
def overview() -> ResponseReturnValue:
    history = reports.history_points(source(), "hour", now_ms())
    return render_page(
        "overview.html",
        page="overview",
        overview=overview_data(),
        history=history,
        limits=limits.limits_data(source()),
    )


@blueprint.get("/queues/<path:name>", endpoint="queue")
def queue(name: str) -> ResponseReturnValue:
    name = known_queue(name)
    page = params.page_args()
    now = now_ms()
    listing = data.list_jobs(source(), name, page, now)
    row = data.queue_counts(source(), [name], now)[0]
    return render_page(
        "queue.html",
        page="queue",
        name=name,
        listing=listing,
        counts=row["counts"],
        paused=row["paused"],
        registries=data.REGISTRIES,
        statuses=REGISTRY_STATUSES[page.registry],
        actions=LIST_ACTIONS[page.registry],
        emptiable=page.registry in actions.EMPTIABLE,
    )


@blueprint.get("/jobs", endpoint="find_job")
def find_job() -> ResponseReturnValue:
    """The search box: go to the job with that id, or say clearly that there is none."""
    job_id = (request.args.get("id") or "").strip()
    if not job_id:
        abort(400, description="type a job id to find it")
    params.job_id(job_id)
    return redirect(url_for(f"{EXTENSION}.job", job_id=job_id), code=303)


@blueprint.get("/jobs/<job_id>", endpoint="job")
def job(job_id: str) -> ResponseReturnValue:
    return render_page(
        "job.html", page="job", job=job_detail_or_broken(job_id), job_actions=JOB_ACTIONS
    )


@blueprint.get("/workers", endpoint="workers")
def workers_page() -> ResponseReturnValue:
    src = source()
    now = now_ms()
    return render_page(
        "workers.html",
        page="workers",
        workers=workers.workers(src, now),
        scheduler=workers.scheduler(src, now),
    )


@blueprint.get("/functions", endpoint="functions")
def functions() -> ResponseReturnValue:
    window = params.figures_window()
    figures = reports.figures(source(), window, now_ms(), params.func_arg())
    return render_page(
        "functions.html", page="functions", figures=figures, windows=reports.FIGURE_WINDOWS
    )


@blueprint.get("/failed", endpoint="failed")
def failed() -> ResponseReturnValue:
    src = source()
    report = reports.failed_groups(src, data.queue_names(src), now_ms(), params.func_arg())
    return render_page("failed.html", page="failed", failed=report)


@blueprint.get("/scheduled", endpoint="scheduled")
def scheduled() -> ResponseReturnValue:
    src = source()
    return render_page(
        "scheduled.html",
        page="scheduled",
        scheduled=reports.scheduled_jobs(src, data.queue_names(src), 100, now_ms()),
    )
