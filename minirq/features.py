"""The job options of the job features, taken out of ``enqueue``'s keyword arguments.

``depends_on``, ``unique``, ``on_success``, ``on_failure`` and ``on_stopped`` become job
hash fields; see :mod:`minirq.dependency` and :mod:`minirq.callbacks` for what they do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .callbacks import CALLBACK_KINDS, set_callbacks
from .dependency import set_dependency, to_dependency
from .exceptions import InvalidJobError

if TYPE_CHECKING:
    from .store.record import JobRecord

FEATURE_OPTION_NAMES = ("depends_on", "unique", *CALLBACK_KINDS)


def pop_feature_options(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Take the feature options out of ``kwargs`` (only those given)."""
    return {name: kwargs.pop(name) for name in FEATURE_OPTION_NAMES if name in kwargs}


def set_feature_options(record: JobRecord, options: Mapping[str, Any], job_id: str | None) -> None:
    """Validate the feature options and record them on a job being built.

    Raises :class:`InvalidJobError` (or a subclass) naming the problem.
    """
    unique = options.get("unique", False)
    if not isinstance(unique, bool):
        raise InvalidJobError(f"unique must be True or False, not {unique!r}")
    if unique:
        if job_id is None:
            raise InvalidJobError("unique=True needs a job_id: uniqueness is by id")
        record.unique = True
    dependency = to_dependency(options.get("depends_on"))
    if dependency is not None:
        set_dependency(record, dependency, job_id)
    set_callbacks(record, {k: options[k] for k in CALLBACK_KINDS if options.get(k) is not None})
