"""Visual items in headless Chromium (Debian's package) through Playwright: phones at 400 px,
the dark theme, live updates from a URL with credentials, the time zone switch and the
chart's windows. Screenshots land in test-artifacts/ for a person to look at."""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from werkzeug.serving import make_server

from minirq import Queue, SimpleWorker
from minirq_dashboard import create_app
from tests import dashboard_fixtures as df
from tests import fixtures
from tests.test_dashboard_browser import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    QuietHandler,
    Tab,
    _unavailable,
)

TIMEOUT_MS = 15_000


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    path = CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")
    if path is None:
        _unavailable("Debian's chromium is not installed")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (it is in the dev extra)")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@contextlib.contextmanager
def serving(redis_url: str, **config: Any) -> Iterator[str]:
    app = create_app({"MINIRQ_REDIS_URL": redis_url, "MINIRQ_DASHBOARD_POLL_MS": 500, **config})
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@contextlib.contextmanager
def tab(chromium: Any, **context: Any) -> Iterator[Tab]:
    ctx = chromium.new_context(**{"viewport": {"width": 1280, "height": 900}, **context})
    opened = Tab(ctx.new_page())
    try:
        yield opened
        opened.check_clean()
    finally:
        ctx.close()


def updated(page: Any, times: int = 1) -> None:
    """Wait until the page's script has refreshed it ``times`` times."""
    for n in range(1, times + 1):
        page.wait_for_selector(f'body[data-updates="{n}"]', state="attached", timeout=TIMEOUT_MS)


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def some_jobs(connection: redis.Redis) -> Queue:
    queue = Queue("default", connection=connection)
    for i in range(12):
        queue.enqueue(fixtures.add, i, 1)
    queue.enqueue(df.decline, "4242")
    SimpleWorker([queue], connection=connection).work(burst=True)
    for i in range(25):
        queue.enqueue(fixtures.say_hello, f"user{i}@example.com")
    return queue


@pytest.mark.parametrize(
    "path",
    [
        "",
        "queues/default",
        "queues/default?registry=finished",
        "failed",
        "workers",
        "scheduled",
        "functions",
    ],
)
def test_pages_fit_a_400_px_window(
    chromium: Any, redis_url: str, connection: redis.Redis, path: str
) -> None:
    some_jobs(connection)
    with serving(redis_url) as base, tab(chromium, viewport={"width": 400, "height": 800}) as t:
        t.page.goto(base + path)
        updated(t.page)
        sizes = t.page.evaluate(
            """() => ({
              width: document.documentElement.scrollWidth,
              idHeights: Array.from(document.querySelectorAll('td.id')).map(
                  e => e.getBoundingClientRect().height),
              timeHeights: Array.from(document.querySelectorAll('time')).map(
                  e => e.getBoundingClientRect().height),
              lineHeight: parseFloat(getComputedStyle(document.body).lineHeight) || 20
            })"""
        )
        shot(t.page, "narrow-" + (path.replace("/", "-").replace("?", "-") or "overview"))
    assert sizes["width"] <= 400, "the page itself must not scroll sideways"
    # An id wraps onto a few lines at most, never one character per line.
    assert all(h < 5 * sizes["lineHeight"] for h in sizes["idHeights"]), sizes["idHeights"]
    assert all(h < 1.8 * sizes["lineHeight"] for h in sizes["timeHeights"]), "a time broke"


def _background(page: Any) -> list[float]:
    value = page.evaluate("() => getComputedStyle(document.body.parentElement).backgroundColor")
    return [float(v) for v in value[value.index("(") + 1 : value.index(")")].split(",")[:3]]


def test_dark_theme_follows_the_system(
    chromium: Any, redis_url: str, connection: redis.Redis
) -> None:
    some_jobs(connection)
    with serving(redis_url) as base:
        for scheme, dark in (("dark", True), ("light", False)):
            with tab(chromium, color_scheme=scheme) as t:
                t.page.goto(base)
                updated(t.page)
                background = _background(t.page)
                shot(t.page, f"overview-{scheme}")
            assert (sum(background) / 3 < 80) is dark, (scheme, background)


def test_live_updates_work_from_a_url_with_credentials(
    chromium: Any, redis_url: str, connection: redis.Redis
) -> None:
    some_jobs(connection)
    with serving(redis_url, MINIRQ_DASHBOARD_PASSWORD="pw") as base, tab(chromium) as t:
        t.page.goto(base.replace("http://", "http://admin:pw@"))
        updated(t.page, 2)
        assert t.page.locator("#chart-svg rect.bar-processed").count() == 60
        assert t.page.locator("#live-status").inner_text().startswith("updated")


def test_times_say_their_zone_and_switch_to_the_browsers(
    chromium: Any, redis_url: str, connection: redis.Redis
) -> None:
    queue = some_jobs(connection)
    failed = queue.failed_job_registry.get_job_ids()[0]
    with serving(redis_url) as base, tab(chromium, timezone_id="Asia/Tokyo") as t:
        t.page.goto(base + f"jobs/{failed}")
        updated(t.page)
        ended = t.page.locator('[data-field="ended_at"] time')
        utc_text = ended.inner_text()
        assert utc_text.endswith(" UTC")
        t.page.click("#tz-toggle")
        local_text = ended.inner_text()
        assert "Asia/Tokyo (UTC+09:00)" in local_text
        utc_hour, local_hour = int(utc_text[11:13]), int(local_text[11:13])
        assert (utc_hour + 9) % 24 == local_hour
        t.page.reload()
        updated(t.page)
        assert "Asia/Tokyo" in t.page.locator('[data-field="ended_at"] time').inner_text()
        assert t.page.locator("#tz-toggle").inner_text() == "Times: local"


def test_chart_windows_and_list_filter_in_the_page(
    chromium: Any, redis_url: str, connection: redis.Redis
) -> None:
    some_jobs(connection)
    with serving(redis_url) as base, tab(chromium) as t:
        t.page.goto(base)
        updated(t.page)
        for window, points in (("week", 168), ("day", 144), ("hour", 60)):
            t.page.click(f'.window-button[data-window="{window}"]')
            t.page.wait_for_selector(f'#chart-svg[data-window="{window}"]', state="attached")
            assert t.page.locator("#chart-svg").get_attribute("data-points") == str(points)
        t.page.goto(base + "queues/default?registry=finished")
        t.page.fill('#filter-form input[name="func"]', "add")
        t.page.click('#filter-form button[type="submit"]')
        updated(t.page)
        calls = t.page.locator("#jobs-body td.call code").all_inner_texts()
        assert len(calls) == 12 and all(c.startswith("tests.fixtures.add(") for c in calls)
        t.page.goto(base + "failed")
        updated(t.page)
        row = t.page.locator("#recent-failures-body tr").first.inner_text()
        assert "PaymentDeclined" in row and "card 4242 was declined" in row
        shot(t.page, "failed-with-errors")
