"""Each example runs as its README says, against the test Redis, with real processes."""

from __future__ import annotations

import configparser
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis

from minirq import Job, JobStatus
from tests.conftest import ROOT, free_port

EXAMPLES = ROOT / "examples"
BIN = Path(sys.executable).parent


@contextmanager
def running(command: list[str], cwd: Path, env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    """A background process, stopped with SIGTERM (as a platform does) when done."""
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
        assert process.returncode == 0, output


def test_basic_example(subprocess_env: dict[str, str], minirq_command: list[str]) -> None:
    folder = EXAMPLES / "basic"
    with running([*minirq_command, "worker"], folder, subprocess_env):
        result = subprocess.run(
            [sys.executable, "main.py"],
            cwd=folder,
            env=subprocess_env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "result: 9 words" in result.stdout
    assert "status: failed" in result.stdout
    assert "ValueError: could not convert string to float: 'twelve'" in result.stdout
    assert 'File "' in result.stdout and "tasks.py" in result.stdout  # the real traceback


def test_flask_app_example(
    subprocess_env: dict[str, str],
    minirq_command: list[str],
    connection: redis.Redis,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = EXAMPLES / "flask_app"
    monkeypatch.syspath_prepend(str(folder))
    from app import create_app  # type: ignore[import-not-found]

    assert create_app(connection).test_client().get("/minirq/").status_code == 404
    monkeypatch.setenv("MINIRQ_DASHBOARD_PASSWORD", "pw")
    client = create_app(connection).test_client()
    assert b"<form" in client.get("/").data
    assert client.get("/minirq/").status_code == 401
    assert client.get("/minirq/", auth=("admin", "pw")).status_code == 200
    assert client.post("/send", data={"to": "nobody", "subject": "x"}).status_code == 400
    response = client.post(
        "/send", data={"to": "ada@example.com", "subject": "Welcome", "body": "Hello Ada"}
    )
    assert response.status_code == 303
    job_id = response.headers["Location"].rsplit("/", 1)[1]
    assert b"queued" in client.get(f"/jobs/{job_id}").data

    outbox = tmp_path / "outbox"
    env = {**subprocess_env, "OUTBOX_DIR": str(outbox)}
    result = subprocess.run(
        [*minirq_command, "worker", "emails", "--burst"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    job = Job.fetch(job_id, connection=connection)
    assert job.get_status() == JobStatus.FINISHED, job.exc_info
    assert b"finished" in client.get(f"/jobs/{job_id}").data
    (message,) = outbox.glob("*.eml")
    text = message.read_text()
    assert "To: ada@example.com" in text and "Subject: Welcome" in text and "Hello Ada" in text


def test_scheduling_example(subprocess_env: dict[str, str], minirq_command: list[str]) -> None:
    folder = EXAMPLES / "scheduling"
    with running([*minirq_command, "worker", "--with-scheduler"], folder, subprocess_env):
        result = subprocess.run(
            [sys.executable, "main.py"],
            cwd=folder,
            env=subprocess_env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    lateness = [int(n) for n in re.findall(r"started (-?\d+) ms after it was due", out)]
    assert len(lateness) == 2 and all(n >= 0 for n in lateness)  # never early
    assert "'prices from https://prices.example' after 3 attempts" in out
    assert re.search(r"cron entry 'tick' last ran at .+, job \w+", out)
    assert "removed the cron entry" in out


def test_flask_app_procfile_under_honcho(
    subprocess_env: dict[str, str], connection: redis.Redis, tmp_path: Path
) -> None:
    folder = EXAMPLES / "flask_app"
    port = free_port()
    outbox = tmp_path / "outbox"
    (tmp_path / ".env").write_text("")
    env = {
        **subprocess_env,
        "PATH": f"{BIN}{os.pathsep}{subprocess_env['PATH']}",
        "OUTBOX_DIR": str(outbox),
        "MINIRQ_DASHBOARD_PASSWORD": "pw",
    }
    command = [str(BIN / "honcho"), "start", "-d", str(folder), "-f", str(folder / "Procfile"),
               "-e", str(tmp_path / ".env"), "-p", str(port)]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, start_new_session=True,
    )  # fmt: skip
    output = ""
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).close()
                break
            except OSError:
                if process.poll() is not None:
                    output, _ = process.communicate()
                assert time.monotonic() < deadline and process.poll() is None, output
                time.sleep(0.05)
        form = urllib.parse.urlencode({"to": "bob@example.com", "subject": "Hi"}).encode()
        urllib.request.urlopen(f"http://127.0.0.1:{port}/send", data=form, timeout=5).close()
        while not list(outbox.glob("*.eml")):
            assert time.monotonic() < deadline, "the worker sent no email"
            time.sleep(0.05)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            output, _ = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
    assert "Subject: Hi" in next(outbox.glob("*.eml")).read_text(), output


# -- systemd ----------------------------------------------------------------------------

UNITS = sorted((EXAMPLES / "systemd").glob("*.service"))


def _localized(unit: Path, folder: Path) -> Path:
    """The unit with the app's paths pointed at this checkout, so that systemd can check
    that its commands exist."""
    text = (
        unit.read_text()
        .replace("/srv/myapp/.venv/bin/", f"{BIN}/")
        .replace("/srv/myapp", str(folder))
        .replace("/etc/myapp/minirq.env", str(folder / "minirq.env"))
    )
    path = folder / unit.name
    path.write_text(text)
    return path


def _exec_start(unit: Path) -> list[str]:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(unit)
    return shlex.split(parser["Service"]["ExecStart"].replace("%H", "host").replace("%i", "1"))


def test_systemd_units_are_complete() -> None:
    assert [u.name for u in UNITS] == [
        "minirq-dashboard.service",
        "minirq-scheduler.service",
        "minirq-worker@.service",
    ]
    for unit in UNITS:
        parser = configparser.ConfigParser(interpolation=None, strict=True)
        parser.optionxform = str  # type: ignore[assignment,method-assign]
        parser.read(unit)
        assert set(parser.sections()) == {"Unit", "Service", "Install"}, unit.name
        service = parser["Service"]
        assert service["EnvironmentFile"] == "/etc/myapp/minirq.env"
        assert service["ExecStart"].startswith("/srv/myapp/.venv/bin/")
        assert service["Restart"] == "always"
        assert parser["Install"]["WantedBy"] == "multi-user.target"
    env_file = (EXAMPLES / "systemd" / "minirq.env").read_text()
    assert "REDIS_URL=" in env_file and "MINIRQ_DASHBOARD_PASSWORD=" in env_file


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze missing")
def test_systemd_units_verify(tmp_path: Path) -> None:
    shutil.copy(EXAMPLES / "systemd" / "minirq.env", tmp_path / "minirq.env")
    units = [_localized(unit, tmp_path) for unit in UNITS]
    result = subprocess.run(
        ["systemd-analyze", "verify", *map(str, units)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    # systemd-analyze exits 0 on unknown keys too; any remark about our files is a fault.
    assert result.returncode == 0 and str(tmp_path) not in result.stderr, result.stderr


MINIRQ_UNITS = [u for u in UNITS if Path(_exec_start(u)[0]).name == "minirq"]


@pytest.mark.parametrize("unit", MINIRQ_UNITS, ids=lambda u: u.name)
def test_systemd_minirq_commands_parse(unit: Path) -> None:
    command = _exec_start(unit)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "minirq", *command[1:], "--help"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
