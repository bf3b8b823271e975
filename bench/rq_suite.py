"""Run RQ 2.12.0's own test suite against minirq, through a shim that maps module names only.

By hand, not part of ``make test``::

    .venv/bin/python bench/rq_suite.py                      # the whole suite
    .venv/bin/python bench/rq_suite.py test_job.py -k save  # some files, pytest's -k

RQ's tests come from its sdist: ``--sdist DIR`` (default ``/work/wt/rq-sdist/rq-2.12.0``,
else ``pip download --no-deps --no-binary :all: rq==2.12.0`` into ``~/.cache/minirq-rq-suite``).
They are copied, unchanged, into a scratch folder next to a package named ``rq`` whose
modules *are* minirq's modules (``rq.job`` is ``minirq.job``, ``rq.command`` is
``minirq.commands``, ...): a name RQ has and minirq lacks fails to import, nothing is
emulated. RQ's tests talk to ``localhost:6379``; a ``sitecustomize`` in the scratch folder
points every Redis connection to localhost:6379 at a private redis-server on a free port, in
this process's children too, so the machine's Redis is never touched.

Prints passed/failed/errors/skipped per RQ test file and the total, and writes a triage file
(``--triage``) listing every failing test with the first line of its failure, and after
``=>`` the reason it is left failing, if one is written down. RQ's ``test_worker.py``
imports ``psutil`` (a test dependency of RQ's): ``pip install psutil`` in the venv first,
or that file counts as one import error.

Reasons live in ``bench/rq_suite_reasons/``, one file per RQ test file (``test_job.txt``
for ``test_job.py``), one line per failing test: its name as the triage file spells it
after the file name, two or more spaces, and the reason::

    TestJob::test_fetch_dependencies  internal: Job.fetch_dependencies(watch=, pipeline=)
    TestQueue::test_enqueue_twice  difference: enqueuing an id that a live job has
    (import)  internal: rq.intermediate_queue, its module-level helpers

``internal: <RQ name(s) the test needs>`` when it tests something of RQ's own making (a
private method, the key layout, an internal helper); ``difference: <the situation column of
the README's "Coming from RQ" table>`` when minirq keeps a guarantee over RQ's behaviour;
either may end with a short clause. ``(import)`` is a file that fails to import. ``#``
starts a comment line. The summary counts the failing tests with and without a reason,
lists those without, and reports as stale a reason whose test now passes (and, when no
``-k`` is given, one naming no test of a file that ran), and a ``difference:`` reason whose
text does not start with the situation of a row of that table.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from rq_suite_triage import summarise

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RQ_VERSION = "2.12.0"
DEFAULT_SDIST = Path("/work/wt/rq-sdist") / f"rq-{RQ_VERSION}"
CACHE = Path.home() / ".cache" / "minirq-rq-suite"

# RQ 2.12's modules and the minirq module each one is; "" means minirq has none.
# A module not listed here is not RQ's and gets no alias.
RQ_MODULES = {
    "rq": "minirq",
    "rq.cli": "minirq.cli",
    "rq.cli.__main__": "minirq.__main__",
    "rq.cli.cli": "minirq.cli",
    "rq.cli.cli_cron": "minirq.cli.cron",
    "rq.cli.helpers": "minirq.cli.context",
    "rq.cli.workers": "minirq.cli.workers",
    "rq.command": "minirq.command",
    "rq.connections": "minirq.connection",
    "rq.contrib": "minirq.contrib",
    "rq.cron": "minirq.cron",
    "rq.cron_job_registry": "minirq.cron_registry",
    "rq.cron_scheduler_registry": "",
    "rq.decorators": "minirq.decorators",
    "rq.defaults": "minirq.defaults",
    "rq.dependency": "minirq.dependency",
    "rq.exceptions": "minirq.exceptions",
    "rq.executions": "minirq.executions",
    "rq.group": "minirq.group",
    "rq.intermediate_queue": "",
    "rq.job": "minirq.job",
    "rq.local": "",
    "rq.logutils": "minirq.logs",
    "rq.maintenance": "",
    "rq.queue": "minirq.queue",
    "rq.registry": "minirq.registry",
    "rq.repeat": "minirq.repeat",
    "rq.results": "minirq.results",
    "rq.scheduler": "minirq.scheduler",
    "rq.scripts": "",
    "rq.serializers": "minirq.serializers",
    "rq.suspension": "minirq.suspension",
    "rq.timeouts": "minirq.process",
    "rq.types": "",
    "rq.utils": "minirq.utils",
    "rq.version": "minirq",
    "rq.webhook": "",
    "rq.worker": "minirq.worker",
    "rq.worker.base": "minirq.base_worker",
    "rq.worker.worker_classes": "minirq.worker",
    "rq.worker_pool": "minirq.pool",
    "rq.worker_registration": "minirq.presence",
}

SHIM_INIT = '''"""RQ's module names over minirq's modules (written by bench/rq_suite.py).

``rq`` itself hands out minirq's top-level names; ``rq.job`` and the other submodules
are minirq's module objects, found through the table below.
"""

import importlib
import importlib.abc
import importlib.util
import sys

import minirq

MODULES = {modules!r}


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path=None, target=None):
        if not name.startswith("rq."):
            return None
        target_name = MODULES.get(name)
        if not target_name:
            raise ModuleNotFoundError(f"minirq has no module for RQ's {{name}}", name=name)
        return importlib.util.spec_from_loader(name, self)

    def create_module(self, spec):
        module = importlib.import_module(MODULES[spec.name])
        self._own_spec = module.__spec__
        return module

    def exec_module(self, module):
        # The import system stamps our spec on the module; give minirq's back.
        module.__spec__ = self._own_spec


sys.meta_path.insert(0, _Alias())


def __getattr__(name):
    return getattr(minirq, name)


def __dir__():
    return dir(minirq)
'''

SITECUSTOMIZE = '''"""Point Redis connections to localhost:6379 at the suite's private server."""

import os

PORT = int(os.environ["RQ_SUITE_REDIS_PORT"])
LOCAL = {{"localhost", "127.0.0.1", "::1"}}

try:
    import redis.connection
except ImportError:
    pass
else:
    _original_init = redis.connection.Connection.__init__

    def _private_init(self, *args, **kwargs):
        _original_init(self, *args, **kwargs)
        if self.host in LOCAL and int(self.port) == 6379:
            self.port = PORT

    redis.connection.Connection.__init__ = _private_init
'''

PYTEST_INI = """[pytest]
addopts = --strict-markers
markers =
    slow
    ssl_test
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def find_sdist(given: Path | None) -> Path:
    """The unpacked sdist folder holding ``tests/``; downloads it into the cache if needed."""
    for candidate in (given, DEFAULT_SDIST, CACHE / f"rq-{RQ_VERSION}"):
        if candidate is not None and (candidate / "tests").is_dir():
            return candidate
    if given is not None:
        sys.exit(f"no tests/ folder under {given}")
    CACHE.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--no-binary",
            ":all:",
            f"rq=={RQ_VERSION}",
            "-d",
            str(CACHE),
        ],
        check=True,
    )
    with tarfile.open(CACHE / f"rq-{RQ_VERSION}.tar.gz") as archive:
        archive.extractall(CACHE, filter="data")
    return CACHE / f"rq-{RQ_VERSION}"


def build_workdir(sdist: Path, workdir: Path) -> None:
    shutil.copytree(sdist / "tests", workdir / "tests")
    (workdir / "rq").mkdir()
    (workdir / "rq" / "__init__.py").write_text(SHIM_INIT.format(modules=RQ_MODULES))
    (workdir / "sitecustomize.py").write_text(SITECUSTOMIZE.format())
    (workdir / "pytest.ini").write_text(PYTEST_INI)


class PrivateRedis:
    """A redis-server on a free port with its data in ``folder``; gone after ``stop``."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(folder),
                "--databases",
                "17",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", help="RQ test files to run (default: all)")
    parser.add_argument("-k", dest="keyword", help="pytest -k expression")
    parser.add_argument("--sdist", type=Path, help="unpacked rq-2.12.0 sdist folder")
    parser.add_argument("--timeout", type=int, default=60, help="seconds per test (default 60)")
    parser.add_argument(
        "--triage", type=Path, default=Path("rq_suite_triage.txt"), help="failing-test list"
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = parser.parse_args()

    sdist = find_sdist(args.sdist)
    scratch = Path(tempfile.mkdtemp(prefix="rq_suite_"))
    redis_server = PrivateRedis(scratch)
    try:
        build_workdir(sdist, scratch / "run")
        env = dict(os.environ)
        env.update(
            PYTHONPATH=os.pathsep.join([str(scratch / "run"), str(REPO)]),
            RQ_SUITE_REDIS_PORT=str(redis_server.port),
        )
        targets = [f"tests/{name}" for name in args.files] or ["tests"]
        command = [
            sys.executable,
            "-m",
            "pytest",
            *targets,
            "-q",
            "-p",
            "no:cacheprovider",
            # A file that fails to import (a name minirq lacks) must not stop the others.
            "--continue-on-collection-errors",
            f"--timeout={args.timeout}",
            f"--junitxml={scratch / 'report.xml'}",
            "--rootdir",
            str(scratch / "run"),
        ]
        if args.keyword:
            command += ["-k", args.keyword]
        subprocess.run(command, cwd=scratch / "run", env=env, stdout=subprocess.DEVNULL)
        summarise(scratch / "report.xml", args.triage.resolve(), whole_files=not args.keyword)
    finally:
        redis_server.stop()
        if args.keep:
            print(f"scratch folder kept: {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
