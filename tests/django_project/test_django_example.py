"""examples/django_app under honcho, as its README says: web (gunicorn) and worker."""

from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, free_port

EXAMPLE = ROOT / "examples" / "django_app"
BIN = Path(sys.executable).parent


def _wait_for(condition: Callable[[], object], what: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def _open(
    opener: urllib.request.OpenerDirector, url: str, data: bytes | None = None
) -> tuple[int, str, str]:
    """Status, final URL and text of a request; every response closed."""
    try:
        with opener.open(url, data=data, timeout=10) as response:
            return response.status, response.geturl(), response.read().decode()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.headers.get("Location", ""), ""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


@pytest.fixture
def honcho(subprocess_env: dict[str, str], tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port = free_port()
    outbox = tmp_path / "outbox"
    marker = uuid.uuid4().hex
    env = {
        **subprocess_env,
        "PATH": f"{BIN}{os.pathsep}{subprocess_env['PATH']}",
        "DATABASE_PATH": str(tmp_path / "db.sqlite3"),
        "EMAIL_FILE_PATH": str(outbox),
        "MINIRQ_DJANGO_EXAMPLE_TEST": marker,
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    (tmp_path / ".env").write_text("")
    process = subprocess.Popen(
        [
            str(BIN / "honcho"),
            "start",
            "--no-colour",
            "-e",
            str(tmp_path / ".env"),
            "-p",
            str(port),
        ],
        cwd=EXAMPLE,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        yield f"http://127.0.0.1:{port}", outbox
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
        assert "Traceback" not in output, output
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_django_example_sends_the_welcome_email_from_the_worker(
    honcho: tuple[str, Path],
) -> None:
    base, outbox = honcho
    jar = http.cookiejar.CookieJar()
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

    def answers() -> bool:
        try:
            return _open(browser, base + "/")[0] == 200
        except OSError:
            return False

    _wait_for(answers, "the web process (migrate, then gunicorn)")
    form = _open(browser, base + "/")[2]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)
    assert token is not None, form
    data = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": token.group(1), "email": "ada@example.com"}
    ).encode()
    _, status_url, _ = _open(browser, base + "/", data)
    assert "/signups/" in status_url

    def welcomed() -> bool:
        return "finished, sent" in _open(browser, status_url)[2]

    _wait_for(welcomed, "the worker to send the welcome e-mail")
    sent = list(outbox.glob("*.log"))
    assert len(sent) == 1 and "To: ada@example.com" in sent[0].read_text()

    # The dashboard is mounted in the admin, for staff only.
    anonymous = urllib.request.build_opener(_NoRedirect)
    code, location, _ = _open(anonymous, base + "/admin/minirq/")
    assert code == 302 and location.startswith("/admin/login/")
