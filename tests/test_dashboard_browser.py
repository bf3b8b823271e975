"""Browser journeys through the dashboard: Debian's chromium driven by Playwright.

The dashboard runs in a real werkzeug server thread against the session's redis-server.
Screenshots land in test-artifacts/. Without chromium (or the playwright package) these
tests skip with the reason, except under CI=true, where they must run.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from werkzeug.serving import WSGIRequestHandler, make_server

from minirq import Job, JobStatus, Queue, SimpleWorker
from minirq.keys import Keys
from minirq.utils import now_ms
from minirq_dashboard import create_app
from tests import fixtures
from tests.conftest import ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = ROOT / "test-artifacts"
XSS = '<script>alert(1)</script>"><img src=x onerror=alert(1)>'
TIMEOUT_MS = 15_000


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; under CI the browser journeys must run (.ci/run installs it)")
    pytest.skip(f"{reason}: apt-get install chromium (.ci/run does) to run the browser journeys")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    chromium = CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")
    if chromium is None:
        _unavailable("Debian's chromium is not installed")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (it is in the dev extra)")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=chromium, args=CHROMIUM_ARGS, headless=True
        )
        yield instance
        instance.close()


class QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """The polling would fill the test log with one line per request."""


@pytest.fixture
def base_url(redis_url: str) -> Iterator[str]:
    app = create_app({"MINIRQ_REDIS_URL": redis_url, "MINIRQ_DASHBOARD_POLL_MS": 500})
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


class Tab:
    """A page plus what it must not do: raise alerts, log errors, break the CSP."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.alerts: list[str] = []
        self.errors: list[str] = []
        page.set_default_timeout(TIMEOUT_MS)
        page.on("dialog", self._dialog)
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def _dialog(self, dialog: Any) -> None:
        if dialog.type != "confirm":
            self.alerts.append(dialog.message)
        dialog.accept()

    def check_clean(self) -> None:
        assert self.alerts == [], f"a script ran from job data: {self.alerts}"
        assert self.errors == [], f"browser errors (CSP violations included): {self.errors}"


@pytest.fixture
def tabs(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    made: list[Tab] = []

    def new_tab() -> Tab:
        tab = Tab(context.new_page())
        made.append(tab)
        return tab

    yield new_tab
    try:
        for tab in made:
            tab.check_clean()
    finally:
        context.close()


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


def wait_for_update(page: Any) -> None:
    """Until the page has refreshed itself from the API at least once more."""
    seen = int(page.evaluate("document.body.dataset.updates || '0'"))
    # Functions, not expression strings: Playwright evaluates those with eval(), which the
    # dashboard's Content-Security-Policy rightly forbids.
    page.wait_for_function("n => Number(document.body.dataset.updates || 0) > n", arg=seen)


def real_data(connection: redis.Redis) -> dict[str, Any]:
    emails = Queue("emails", connection=connection)
    reports = Queue("reports", connection=connection)
    hostile = Queue(f"x{XSS}", connection=connection)
    for i in range(6):
        emails.enqueue(fixtures.add, i, i)
    emails.enqueue(fixtures.div_by_zero, 1)
    emails.enqueue(fixtures.echo, XSS, note=XSS)
    reports.enqueue(fixtures.say_hello, "report")
    hostile.enqueue(fixtures.echo, XSS)
    SimpleWorker([emails, reports, hostile], connection=connection).work(burst=True)
    for i in range(4):
        emails.enqueue(fixtures.add, i, 1)
    failed = emails.failed_job_registry.get_job_ids()
    minute = now_ms() // 60_000
    for back, (processed, failed_count) in enumerate([(9, 1), (4, 0), (12, 3), (7, 2)]):
        connection.hset(
            Keys().stats(minute - back * 7),
            mapping={"processed": processed, "failed": failed_count},
        )
    return {"emails": emails, "failed": failed}


def test_overview_with_real_data(tabs: Any, base_url: str, connection: redis.Redis) -> None:
    real_data(connection)
    worker = SimpleWorker(["emails", "reports"], connection=connection, name="worker-1")
    worker.register_birth()
    try:
        tab = tabs()
        page = tab.page
        page.goto(base_url)
        page.wait_for_selector("#chart svg rect.bar-processed", state="attached")
        wait_for_update(page)
        rows = page.locator("#queues-body tr")
        assert rows.count() == 3
        emails = page.locator('#queues-body tr[data-queue="emails"]')
        assert emails.locator('[data-registry="queued"]').inner_text() == "4"
        assert emails.locator('[data-registry="failed"]').inner_text() == "1"
        assert emails.locator('[data-registry="finished"]').inner_text() == "7"
        assert page.locator("#workers-count").inner_text() == "1"
        assert page.locator("#processed-hour").inner_text() == "32"
        assert page.locator("#chart svg").get_attribute("data-points") == "60"
        # The hostile queue name is shown as text, never run.
        assert page.get_by_text(f"x{XSS}", exact=True).count() == 1
        screenshot(page, "overview.png")
    finally:
        worker.register_death()


def test_open_a_failed_job_and_requeue_it(
    tabs: Any, base_url: str, connection: redis.Redis
) -> None:
    data = real_data(connection)
    (job_id,) = data["failed"]
    overview = tabs()
    overview.page.goto(base_url)
    emails = overview.page.locator('#queues-body tr[data-queue="emails"]')
    assert emails.locator('[data-registry="failed"]').inner_text() == "1"
    overview.page.evaluate("window.__notReloaded = true")

    tab = tabs()
    page = tab.page
    page.goto(base_url)
    page.locator('#queues-body tr[data-queue="emails"] [data-registry="failed"]').click()
    page.wait_for_url("**/queues/emails?registry=failed")
    page.get_by_role("link", name=job_id).click()
    page.wait_for_url(f"**/jobs/{job_id}")
    assert "ZeroDivisionError" in page.locator('[data-field="exc_info"]').inner_text()
    assert page.locator('[data-field="status"]').inner_text() == "failed"
    screenshot(page, "failed-job.png")
    page.evaluate("window.__notReloaded = true")

    page.get_by_role("button", name="Requeue").click()
    page.wait_for_function(
        "() => document.querySelector('[data-field=\"status\"]').textContent.trim() === 'queued'"
    )
    assert page.evaluate("window.__notReloaded") is True
    assert page.locator("#flash").inner_text() == f"job {job_id} requeued"
    assert page.get_by_role("button", name="Requeue").is_hidden()
    assert page.get_by_role("button", name="Cancel").is_visible()
    assert Job.fetch(job_id, connection=connection).get_status() == JobStatus.QUEUED

    # The other tab's counts follow by polling, without a reload.
    overview.page.wait_for_function(
        '() => document.querySelector(\'#queues-body tr[data-queue="emails"] '
        "[data-registry=\"failed\"]').textContent === '0'"
    )
    assert emails.locator('[data-registry="queued"]').inner_text() == "5"
    assert overview.page.evaluate("window.__notReloaded") is True


def test_bulk_delete_from_a_list(tabs: Any, base_url: str, connection: redis.Redis) -> None:
    queue = Queue("cleanup", connection=connection)
    jobs = [queue.enqueue(fixtures.div_by_zero, i) for i in range(5)]
    SimpleWorker([queue], connection=connection).work(burst=True)
    keep = queue.enqueue(fixtures.add, 1, 2)
    tab = tabs()
    page = tab.page
    page.goto(base_url + "queues/cleanup?registry=failed")
    assert page.locator("#jobs-body tr").count() == 5
    page.evaluate("window.__notReloaded = true")
    page.locator("#select-all").check()
    assert page.locator("#selected-count").inner_text() == "5 selected"
    screenshot(page, "failed-list-selected.png")
    # A poll in between keeps the selection.
    wait_for_update(page)
    assert page.locator("#selected-count").inner_text() == "5 selected"
    page.get_by_role("button", name="Delete selected").click()
    page.wait_for_selector("#jobs-body tr.empty-row")
    assert page.locator('.tab-count[data-registry="failed"]').inner_text() == "0"
    assert page.locator("#flash").inner_text() == "delete: 5 job(s) done"
    assert page.evaluate("window.__notReloaded") is True
    assert not any(job.exists() for job in jobs) and keep.exists()
    screenshot(page, "bulk-deleted.png")


def test_pause_stops_polling(tabs: Any, base_url: str, connection: redis.Redis) -> None:
    tab = tabs()
    page = tab.page
    page.goto(base_url + "workers")
    wait_for_update(page)
    page.get_by_role("button", name="Pause updates").click()
    assert page.locator("#live-status").inner_text() == "paused"
    paused_at = page.evaluate("document.body.dataset.updates")
    page.wait_for_timeout(1500)
    assert page.evaluate("document.body.dataset.updates") == paused_at
    page.get_by_role("button", name="Resume updates").click()
    wait_for_update(page)
    # The choice survives a reload.
    page.get_by_role("button", name="Pause updates").click()
    page.reload()
    assert page.get_by_role("button", name="Resume updates").is_visible()
