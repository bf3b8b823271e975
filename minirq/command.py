"""RQ's module name for worker commands: ``from minirq.command import send_stop_job_command``
works as ``from rq.command import ...`` does (the functions live in :mod:`minirq.commands`)."""

from .commands import (
    send_command,
    send_kill_horse_command,
    send_shutdown_command,
    send_stop_job_command,
)

__all__ = [
    "send_command",
    "send_kill_horse_command",
    "send_shutdown_command",
    "send_stop_job_command",
]
