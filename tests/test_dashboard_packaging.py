"""The dashboard installs as ``minirq_dashboard`` and never as a top-level ``dashboard``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

CHECK = """
import importlib.util
from minirq_dashboard import blueprint, create_app
import minirq_dashboard.wsgi
print(blueprint.name, create_app.__name__, importlib.util.find_spec("dashboard"))
"""


def test_installed_as_minirq_dashboard_from_a_project_folder(tmp_path: Path) -> None:
    # A user project with its own `dashboard` package sits in the current folder; ours must
    # neither shadow it nor be found under that name outside this checkout.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["MINIRQ_DASHBOARD_NO_AUTH"] = "1"
    result = subprocess.run(
        [sys.executable, "-c", CHECK],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["minirq_dashboard", "create_app", "None"]
    (tmp_path / "dashboard").mkdir()
    (tmp_path / "dashboard" / "__init__.py").write_text("MINE = True\n")
    mine = subprocess.run(
        [sys.executable, "-c", "import dashboard, minirq_dashboard; print(dashboard.MINE)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert mine.returncode == 0 and mine.stdout.strip() == "True", mine.stderr


def test_no_absolute_dashboard_imports_anywhere() -> None:
    pattern = re.compile(r"^\s*(from|import) dashboard\b|\bdashboard\.wsgi\b", re.M)
    sources = [*(ROOT / "dashboard").rglob("*.py"), ROOT / "Procfile", ROOT / "README.md"]
    sources += [*(ROOT / "examples").rglob("*.py"), *(ROOT / "bench").glob("*.py")]
    sources += [*(ROOT / "minirq").rglob("*.py"), *(ROOT / "examples").rglob("Procfile")]
    offenders = [
        str(path)
        for path in sources
        if pattern.search(path.read_text().replace("minirq_dashboard.wsgi", ""))
    ]
    assert offenders == []
