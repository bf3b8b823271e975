"""``python manage.py minirq <command> [args]``: the ``minirq`` command line, inside Django.

Every minirq command and option works (``worker``, ``scheduler``, ``info``, ``requeue``,
...; ``manage.py minirq --help`` lists them). Django is set up first, so jobs can use the
ORM, and the commands read ``settings.MINIRQ`` as their settings module. Django's system
checks run first: a bad ``MINIRQ`` value stops the command with the check's message.
"""

from __future__ import annotations

import os
import sys
from argparse import REMAINDER, ArgumentParser
from typing import Any

import click
from django.core.management.base import BaseCommand, CommandError

from minirq.cli import main
from minirq.config import SETTINGS_MODULE_ENV

from ...conf import SETTINGS_MODULE, serializer_name


def _with_serializer(args: list[str]) -> list[str]:
    """``args`` with ``--serializer MINIRQ['SERIALIZER']`` given to a command that takes
    it; a ``--serializer`` the user typed comes later and wins."""
    name = serializer_name()
    if not args or name is None:
        return args
    command = (
        main.get_command(click.Context(main), args[0]) if isinstance(main, click.Group) else None
    )
    if command is None or not any(p.name == "serializer" for p in command.params):
        return args
    return [args[0], "--serializer", name, *args[1:]]


def run_minirq(args: list[str], prog_name: str) -> int:
    """Run ``minirq args`` here; returns its exit code."""
    previous = os.environ.get(SETTINGS_MODULE_ENV)
    os.environ[SETTINGS_MODULE_ENV] = SETTINGS_MODULE
    try:
        main.main(args=_with_serializer(args), prog_name=prog_name, standalone_mode=True)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    finally:
        if previous is None:
            os.environ.pop(SETTINGS_MODULE_ENV, None)
        else:
            os.environ[SETTINGS_MODULE_ENV] = previous
    return 0


class Command(BaseCommand):
    help = "Run a minirq command (worker, scheduler, info, ...) with Django set up."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("minirq_args", nargs=REMAINDER, help="a minirq command and its options")

    def run_from_argv(self, argv: list[str]) -> None:
        # Every option after `minirq` is minirq's, --help included: no argparse here.
        try:
            self.check()
        except CommandError as exc:
            self.stderr.write(f"{type(exc).__name__}: {exc}")
            sys.exit(exc.returncode)
        prog = f"{os.path.basename(argv[0])} {argv[1]}"
        sys.exit(run_minirq(argv[2:], prog))

    def handle(self, *args: Any, **options: Any) -> None:
        """For ``call_command("minirq", "info")``."""
        code = run_minirq([*args, *options.get("minirq_args", [])], "minirq")
        if code:
            raise CommandError(f"minirq exited with code {code}", returncode=code)
