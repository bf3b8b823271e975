"""The JSON API: what the pages poll, and the POST-only actions."""

from __future__ import annotations

from typing import Any

from flask import abort, redirect, request
from flask.typing import ResponseReturnValue

from minirq.utils import iso_utc, now_ms

from . import actions, data, limits, params, present, reports, workers
from .actions import ActionError
from .app import blueprint, json_response, source
from .guards import read_only, safe_next

MAX_SCHEDULED_LIMIT = 500


def overview_data() -> dict[str, Any]:
    """Queues with their counts, latency and whether any live worker listens to them;
    workers, the scheduler, and Redis."""
    src = source()
    now = now_ms()
    names, broken = data.read_queue_names(src)
    queues = data.queue_counts(src, names, now)
    ages = data.oldest_queued(src, names, now)
    live = workers.read_workers(src)
    listened = workers.listened_queues(live)
    for q in queues:
        q["latency_s"] = ages.get(q["name"])
        waiting = q["counts"]["queued"] or 0
        q["no_worker"] = waiting > 0 and q["name"] not in listened
    return {
        "queues": queues,
        "broken_queues": broken,
        "registries": list(data.REGISTRIES),
        "workers": len(live),
        "scheduler": workers.scheduler(src, now),
        "redis": data.redis_info(src),
        "read_only": read_only(),
        "now": iso_utc(now),
    }


def known_queue(name: str) -> str:
    name = params.queue_name(name)
    if not data.queue_exists(source(), name):
        abort(404, description=f"no queue named {name!r}")
    return name


@blueprint.get("/api/queues", endpoint="api_queues")
def queues() -> ResponseReturnValue:
    return json_response(overview_data())


@blueprint.get("/api/limits", endpoint="api_limits")
def limits_list() -> ResponseReturnValue:
    """Each limit's use and what waits on it."""
    return json_response(limits.limits_data(source()))


@blueprint.get("/api/workers", endpoint="api_workers")
def workers_list() -> ResponseReturnValue:
    src = source()
    now = now_ms()
    return json_response(
        {"workers": workers.workers(src, now), "scheduler": workers.scheduler(src, now)}
    )


@blueprint.get("/api/queues/<path:name>/jobs", endpoint="api_queue_jobs")
def queue_jobs(name: str) -> ResponseReturnValue:
    page = params.page_args()
    return json_response(data.list_jobs(source(), known_queue(name), page, now_ms()))


@blueprint.get("/api/jobs/<job_id>", endpoint="api_job")
def job(job_id: str) -> ResponseReturnValue:
    return json_response(job_detail_or_broken(job_id))


def job_detail_or_broken(job_id: str) -> dict[str, Any]:
    """The job page's data; a record that is not a hash shows as a broken job."""
    try:
        found = actions.load_job(source(), job_id)
    except ActionError as exc:
        if exc.status != 409:
            abort(exc.status, description=exc.message)
        return present.broken_detail(job_id, exc.message)
    return present.job_detail(found, now_ms())


@blueprint.get("/api/stats", endpoint="api_stats")
def stats() -> ResponseReturnValue:
    return json_response(reports.stats(source(), params.minutes_arg(), now_ms()))


@blueprint.get("/api/history", endpoint="api_history")
def history() -> ResponseReturnValue:
    return json_response(reports.history_points(source(), params.history_window(), now_ms()))


@blueprint.get("/api/functions", endpoint="api_functions")
def functions() -> ResponseReturnValue:
    window = params.figures_window()
    return json_response(reports.figures(source(), window, now_ms(), params.func_arg()))


@blueprint.get("/api/failed", endpoint="api_failed")
def failed() -> ResponseReturnValue:
    src = source()
    return json_response(
        reports.failed_groups(src, data.queue_names(src), now_ms(), params.func_arg())
    )


@blueprint.get("/api/scheduled", endpoint="api_scheduled")
def scheduled() -> ResponseReturnValue:
    src = source()
    limit = params.int_arg("limit", 100, 1, MAX_SCHEDULED_LIMIT)
    return json_response(reports.scheduled_jobs(src, data.queue_names(src), limit, now_ms()))


# -- actions ----------------------------------------------------------------------------


def _done(message: str, **extra: Any) -> ResponseReturnValue:
    """JSON for scripts; for a plain HTML form (no JavaScript), back to the page it was on."""
    target = safe_next(request.form.get("next", "")) if not request.is_json else None
    if target is not None:
        return redirect(target, code=303)
    return json_response({"ok": True, "message": message, **extra})


def _run(action: str, job_id: str) -> ResponseReturnValue:
    try:
        done = actions.ACTIONS[action](source(), job_id)
    except ActionError as exc:
        abort(exc.status, description=exc.message)
    past = {"requeue": "requeued", "delete": "deleted", "cancel": "canceled", "stop": "stopping"}
    return _done(f"job {done.id} {past.get(action, 'enqueued now')}", id=done.id)


@blueprint.post("/api/jobs/<job_id>/requeue", endpoint="api_requeue")
def requeue(job_id: str) -> ResponseReturnValue:
    return _run("requeue", job_id)


@blueprint.post("/api/jobs/<job_id>/delete", endpoint="api_delete")
def delete(job_id: str) -> ResponseReturnValue:
    return _run("delete", job_id)


@blueprint.post("/api/jobs/<job_id>/cancel", endpoint="api_cancel")
def cancel(job_id: str) -> ResponseReturnValue:
    return _run("cancel", job_id)


@blueprint.post("/api/jobs/<job_id>/enqueue-now", endpoint="api_enqueue_now")
def enqueue_now(job_id: str) -> ResponseReturnValue:
    return _run("enqueue-now", job_id)


@blueprint.post("/api/jobs/<job_id>/stop", endpoint="api_stop")
def stop(job_id: str) -> ResponseReturnValue:
    """Stop a running job: its worker kills it and records it as stopped."""
    return _run("stop", job_id)


@blueprint.post("/api/workers/<path:name>/shutdown", endpoint="api_shutdown")
def shutdown(name: str) -> ResponseReturnValue:
    """Ask a worker to stop warm: it takes no new job and exits once the current one ends."""
    name = params.worker_name(name)
    try:
        actions.shutdown_worker(source(), name)
    except ActionError as exc:
        abort(exc.status, description=exc.message)
    return _done(f"worker {name} is shutting down once its current job ends")


@blueprint.post("/api/jobs/bulk", endpoint="api_bulk")
def bulk() -> ResponseReturnValue:
    if request.is_json:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            abort(400, description="send a JSON object with 'action' and 'ids'")
        action, ids = body.get("action"), body.get("ids")
    else:
        action, ids = request.form.get("action"), request.form.getlist("ids")
    if not isinstance(action, str):
        abort(400, description="'action' must be one of " + ", ".join(sorted(actions.BULK_ACTIONS)))
    try:
        result = actions.bulk(source(), action, ids if isinstance(ids, list) else [])
    except ActionError as exc:
        abort(exc.status, description=exc.message)
    message = f"{action}: {len(result['done'])} job(s) done"
    if result["errors"]:
        message += f", {len(result['errors'])} refused"
    return _done(message, **result)


@blueprint.post("/api/queues/<path:name>/empty", endpoint="api_empty")
def empty(name: str) -> ResponseReturnValue:
    name = params.queue_name(name)
    registry = request.args.get("registry") or request.form.get("registry") or "queued"
    try:
        count = actions.empty(source(), name, registry)
    except ActionError as exc:
        abort(exc.status, description=exc.message)
    return _done(f"deleted {count} {registry} job(s) of {name}", count=count)


@blueprint.post("/api/queues/<path:name>/requeue-failed", endpoint="api_requeue_failed")
def requeue_failed(name: str) -> ResponseReturnValue:
    name = params.queue_name(name)
    try:
        count = actions.requeue_failed(source(), name)
    except ActionError as exc:
        abort(exc.status, description=exc.message)
    return _done(f"requeued {count} failed job(s) of {name}", count=count)


@blueprint.post("/api/queues/<path:name>/pause", endpoint="api_pause")
def pause(name: str) -> ResponseReturnValue:
    name = params.queue_name(name)
    try:
        actions.pause(source(), name)
    except ActionError as exc:
        abort(exc.status, description=exc.message)
    return _done(f"paused {name}: workers skip it until it is resumed")


@blueprint.post("/api/queues/<path:name>/resume", endpoint="api_resume")
def resume(name: str) -> ResponseReturnValue:
    name = params.queue_name(name)
    try:
        actions.resume(source(), name)
    except ActionError as exc:
        abort(exc.status, description=exc.message)
    return _done(f"resumed {name}")


@blueprint.post("/api/failed/requeue", endpoint="api_requeue_all_failed")
def requeue_all_failed() -> ResponseReturnValue:
    count = actions.requeue_all_failed(source())
    return _done(f"requeued {count} failed job(s) across every queue", count=count)
