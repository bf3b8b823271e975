"""Importing a job's function by name, with errors that say what to do.

Used by the worker when it runs a job and by ``minirq enqueue`` before it writes one, so
that both say the same thing: which name is missing, in which module (with near misses),
and, for a module that is not found, which folder the process runs in and that ``--path``
adds another.
"""

from __future__ import annotations

import difflib
import importlib.util
import os
import sys
from typing import Any

from .utils import import_attribute

PATH_HINT = "start the process in the folder that holds it, or add that folder with --path FOLDER"


def import_function(dotted: str) -> Any:
    """The object ``dotted`` names, as :func:`minirq.utils.import_attribute` finds it.

    Raises ``ModuleNotFoundError``, ``ImportError`` or ``AttributeError`` (the same types as
    ``import_attribute``) with a message from :func:`import_failure_message`.
    """
    try:
        return import_attribute(dotted)
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(import_failure_message(dotted, exc), name=exc.name) from exc
    except ImportError as exc:
        raise ImportError(import_failure_message(dotted, exc), name=exc.name) from exc
    except AttributeError as exc:
        raise AttributeError(import_failure_message(dotted, exc)) from exc


def import_failure_message(dotted: str, exc: BaseException) -> str:
    """One line on why ``dotted`` could not be imported, for a job's failure or a CLI error."""
    if isinstance(exc, AttributeError):
        return _missing_attribute(dotted) or f"cannot import {dotted}: {exc}"
    top = dotted.partition(".")[0]
    if _not_found(top):
        return (
            f"cannot import {dotted}: no module named {top!r} in {os.getcwd()} (the folder "
            f"this process runs in) or elsewhere on its import path; {PATH_HINT}"
        )
    missing = getattr(exc, "name", None)
    if isinstance(exc, ModuleNotFoundError) and missing and missing.partition(".")[0] != top:
        # The job's own module was found; something it imports is not installed.
        return f"cannot import {dotted}: it needs module {missing!r}, which is not installed"
    return f"cannot import {dotted}: {exc}"


def _not_found(top: str) -> bool:
    try:
        return importlib.util.find_spec(top) is None
    except (ImportError, ValueError):
        return True


def _missing_attribute(dotted: str) -> str | None:
    """``module 'tasks' has no attribute 'ad' (did you mean 'add'?)`` for ``tasks.ad``."""
    parts = dotted.split(".")
    for split in range(len(parts) - 1, 0, -1):
        module = sys.modules.get(".".join(parts[:split]))
        if module is None:
            continue
        obj: Any = module
        owner = module.__name__
        for name in parts[split:]:
            if not hasattr(obj, name):
                close = difflib.get_close_matches(name, [n for n in dir(obj) if n[:1] != "_"])
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                return f"cannot import {dotted}: {owner!r} has no attribute {name!r}{hint}"
            obj = getattr(obj, name)
            owner = f"{owner}.{name}"
        return None
    return None


__all__ = ["PATH_HINT", "import_failure_message", "import_function"]
