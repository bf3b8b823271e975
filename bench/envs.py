"""The benchmark's environments: one venv per library under ``bench/.venv-<lib>``, created
from PyPI on first use (and again when its requirements change), and the private
redis-server of a run. Standard library only: ``bench/run.py`` runs on the system Python.
"""

from __future__ import annotations

import hashlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent


@dataclass(frozen=True)
class Library:
    name: str  # the module bench/peers/<name>_bench.py and the venv bench/.venv-<name>
    label: str  # the table's column
    requirements: tuple[str, ...]  # pip arguments
    distribution: str  # whose version the report prints

    @property
    def venv(self) -> Path:
        return BENCH / f".venv-{self.name}"

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"


LIBRARIES = {
    lib.name: lib
    for lib in [
        Library("minirq", "minirq", ("-e", str(ROOT)), "minirq"),
        # bench/lateness.py runs minirq and RQ in this same venv, hence the checkout in it.
        Library("rq", "RQ 2.12", ("rq==2.12.0", "-e", str(ROOT)), "rq"),
        Library("huey", "huey 3.5", ("huey==3.5.4", "redis", "hiredis"), "huey"),
        Library("dramatiq", "Dramatiq 2.2", ("dramatiq[redis]==2.2.1", "hiredis"), "dramatiq"),
        Library("celery", "Celery 5.7", ("celery[redis]==5.7.0", "hiredis"), "celery"),
        Library("arq", "arq 0.28", ("arq==0.28.0",), "arq"),
        # saq 0.26.4 imports typing_extensions without declaring it.
        Library("saq", "SAQ 0.26", ("saq[redis,hiredis]==0.26.4", "typing_extensions"), "saq"),
    ]
}


def ensure_venv(lib: Library) -> None:
    """Create ``lib``'s venv once; rebuild it when its requirements (or, for minirq, this
    checkout's metadata) change."""
    stamp = lib.venv / ".stamp"
    wanted = stamp_text(lib)
    if stamp.exists() and stamp.read_text() == wanted:
        return
    print(f"creating {lib.venv.relative_to(ROOT)}: {' '.join(lib.requirements)}", flush=True)
    shutil.rmtree(lib.venv, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(lib.venv)], check=True)
    pip = [str(lib.python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, *lib.requirements], check=True)
    stamp.write_text(wanted)


def stamp_text(lib: Library) -> str:
    """What a venv's ``.stamp`` says when it is up to date."""
    if lib.name == "rq":
        # The stamp bench/lateness.py writes for the venv it shares, so neither rebuilds it.
        return f"rq==2.12.0 {(ROOT / 'setup.cfg').stat().st_mtime}"
    wanted = " ".join(lib.requirements)
    if "-e" in lib.requirements:
        wanted += " " + hashlib.sha256((ROOT / "setup.cfg").read_bytes()).hexdigest()
    return wanted


def versions(lib: Library) -> dict[str, str]:
    """The installed versions of the library, redis-py and hiredis, and the Python."""
    probe = (
        "import sys, importlib.metadata as m;"
        f"print(m.version({lib.distribution!r}), m.version('redis'), m.version('hiredis'),"
        " sys.version.split()[0])"
    )
    out = subprocess.run(
        [str(lib.python), "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split()
    return dict(zip(("library", "redis", "hiredis", "python"), out, strict=True))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """A redis-server of the run's own: loopback only, a free port, no persistence."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("redis-server is not installed (apt-get install redis-server)")
        self.dir = tempfile.mkdtemp(prefix="minirq-bench-")
        self.port = free_port()
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--dir", self.dir]
        self.process = subprocess.Popen(
            [binary, *args, "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.url = f"redis://127.0.0.1:{self.port}/0"
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def version(self) -> str:
        out = subprocess.run(
            [shutil.which("redis-server") or "redis-server", "--version"],
            capture_output=True,
            text=True,
        ).stdout
        return next((w[2:] for w in out.split() if w.startswith("v=")), "?")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)
