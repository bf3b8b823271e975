"""One journey through the admin-mounted dashboard in headless Chromium: log in to the
Django admin, follow its link to the dashboard, open a failed job and requeue it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User

from minirq import JobStatus, SimpleWorker
from minirq.contrib.django import get_queue
from tests import fixtures
from tests.test_dashboard_browser import TIMEOUT_MS, Tab, browser, screenshot

__all__ = ["browser"]  # the fixture, shared with the stand-alone dashboard's journeys


@pytest.fixture(scope="module", autouse=True)
def _database_beside_playwright() -> Iterator[None]:
    """Playwright's sync API keeps an event loop in this thread, and Django refuses
    database calls from a thread with a running loop; here the loop only drives the
    browser, so the calls are safe."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.mark.django_db(transaction=True)
def test_staff_log_in_to_the_admin_and_requeue_a_failed_job(browser: Any, live_server: Any) -> None:
    User.objects.create_superuser("root", "root@example.com", "s3cret-pw")
    queue = get_queue("default")
    job = queue.enqueue(fixtures.div_by_zero)
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    assert job.get_status() == JobStatus.FAILED

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        tab = Tab(context.new_page())
        page = tab.page
        page.set_default_timeout(TIMEOUT_MS)
        # Straight to the dashboard: Django's login page first, then back here.
        page.goto(live_server.url + "/admin/minirq/")
        page.wait_for_url("**/admin/login/?next=/admin/minirq/")
        page.fill("#id_username", "root")
        page.fill("#id_password", "s3cret-pw")
        page.click("input[type=submit]")
        page.wait_for_url("**/admin/minirq/")
        # And the admin index links to it.
        page.goto(live_server.url + "/admin/")
        page.get_by_role("link", name="Dashboard").first.click()
        page.wait_for_url("**/admin/minirq/")
        row = page.locator('#queues-body tr[data-queue="default"]')
        assert row.locator('[data-registry="failed"]').inner_text() == "1"
        row.locator('[data-registry="failed"]').click()
        page.wait_for_url("**/admin/minirq/queues/default?registry=failed")
        page.get_by_role("link", name=job.id).click()
        page.wait_for_url(f"**/admin/minirq/jobs/{job.id}")
        assert "ZeroDivisionError" in page.locator('[data-field="exc_info"]').inner_text()
        page.get_by_role("button", name="Requeue").click()
        page.wait_for_function(
            "() => document.querySelector('[data-field=\"status\"]').textContent.trim()"
            " === 'queued'"
        )
        assert page.locator("#flash").inner_text() == f"job {job.id} requeued"
        screenshot(page, "django-admin-requeued.png")
        tab.check_clean()
    finally:
        context.close()
    assert job.get_status() == JobStatus.QUEUED
