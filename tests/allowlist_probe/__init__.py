"""A package a worker must never import when it is outside its allowlist: importing it
leaves a mark in the environment variable the test reads."""

from __future__ import annotations

import os
from pathlib import Path

_MARK = os.environ.get("MINIRQ_PROBE_MARK")
if _MARK:
    Path(_MARK).write_text("imported")


def run() -> str:
    return "ran"
