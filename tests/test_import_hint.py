"""A function that cannot be imported is refused at `minirq enqueue`, naming the missing
name; a worker that cannot import a job's module says where it runs and points at --path."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from click.testing import CliRunner

from minirq import Job, JobStatus, Queue, SimpleWorker
from minirq.cli import main
from tests.conftest import ROOT


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A user's project folder with a ``tasks_hint_a`` module (a name no test imports)."""
    (tmp_path / "tasks_hint_a.py").write_text("def add(a, b):\n    return a + b\n\nLIMIT = 3\n")
    pkg = tmp_path / "app_hint_b"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "jobs.py").write_text("import no_such_dependency_xyz\n")
    return tmp_path


def enqueue(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "minirq", "enqueue", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env=env,
    )


def test_enqueue_of_a_missing_function_names_it(
    project: Path, subprocess_env: dict[str, str], connection: redis.Redis
) -> None:
    result = enqueue(["default", "tasks_hint_a.ad", "2", "3"], project, subprocess_env)
    assert result.returncode == 1
    assert "'tasks_hint_a' has no attribute 'ad' (did you mean 'add'?)" in result.stderr
    assert "Traceback" not in result.stderr
    assert Queue(connection=connection).count == 0


def test_enqueue_of_a_module_not_found_names_the_folder_and_path(
    project: Path, tmp_path_factory: pytest.TempPathFactory, subprocess_env: dict[str, str]
) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    result = enqueue(["default", "tasks_hint_a.add", "2", "3"], elsewhere, subprocess_env)
    assert result.returncode == 1
    assert f"no module named 'tasks_hint_a' in {elsewhere}" in result.stderr
    assert "--path" in result.stderr
    ok = enqueue(
        ["default", "tasks_hint_a.add", "2", "3", "--path", str(project)], elsewhere, subprocess_env
    )
    assert ok.returncode == 0, ok.stderr


def test_enqueue_names_a_missing_dependency_and_a_non_function(
    project: Path, subprocess_env: dict[str, str]
) -> None:
    result = enqueue(["default", "app_hint_b.jobs.run"], project, subprocess_env)
    assert result.returncode == 1
    assert "needs module 'no_such_dependency_xyz', which is not installed" in result.stderr
    result = enqueue(["default", "tasks_hint_a.LIMIT"], project, subprocess_env)
    assert result.returncode == 1 and "is a int, not a function" in result.stderr


def test_enqueue_without_the_import_check(connection: redis.Redis, redis_url: str) -> None:
    result = CliRunner().invoke(
        main, ["enqueue", "default", "remote_only.jobs.run", "--no-import-check", "-u", redis_url]
    )
    assert result.exit_code == 0, result.output
    assert Job.fetch(result.output.strip(), connection=connection).func_name == (
        "remote_only.jobs.run"
    )


def test_worker_failure_names_its_folder_and_path(connection: redis.Redis) -> None:
    queue = Queue(connection=connection)
    job = queue.enqueue_call("module_nobody_has_q.run")
    SimpleWorker([queue], connection=connection).work(burst=True)
    job = Job.fetch(job.id, connection=connection)
    assert job.get_status() == JobStatus.FAILED and job.exc_info is not None
    last = job.exc_info.strip().splitlines()[-1]
    assert f"no module named 'module_nobody_has_q' in {os.getcwd()}" in last
    assert "--path FOLDER" in last


@pytest.mark.parametrize("worker_args", [[], ["--pool", "1"]])
def test_forked_worker_failure_names_a_missing_attribute(
    subprocess_env: dict[str, str], connection: redis.Redis, worker_args: list[str]
) -> None:
    job = Queue(connection=connection).enqueue_call("tests.fixtures.ad", args=(2, 3))
    result = subprocess.run(
        [sys.executable, "-m", "minirq", "worker", "--burst", *worker_args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env=subprocess_env,
    )
    assert result.returncode == 0, result.stderr
    job = Job.fetch(job.id, connection=connection)
    assert job.get_status() == JobStatus.FAILED
    assert "'tests.fixtures' has no attribute 'ad' (did you mean 'add'?)" in (job.exc_info or "")
