"""The job options of the job features, taken out of ``enqueue``'s keyword arguments.

``depends_on``, ``unique``, ``on_success``, ``on_failure`` and ``on_stopped`` become job
hash fields; see :mod:`minirq.dependency` and :mod:`minirq.callbacks` for what they do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .callbacks import CALLBACK_KINDS, callback_fields
from .dependency import dependency_fields, to_dependency
from .exceptions import InvalidJobError

FEATURE_OPTION_NAMES = ("depends_on", "unique", *CALLBACK_KINDS)


def pop_feature_options(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Take the feature options out of ``kwargs`` (only those given)."""
    return {name: kwargs.pop(name) for name in FEATURE_OPTION_NAMES if name in kwargs}


def feature_fields(options: Mapping[str, Any], job_id: str | None) -> dict[str, str]:
    """Validate the feature options and return the job hash fields they set.

    Raises :class:`InvalidJobError` (or a subclass) naming the problem.
    """
    fields: dict[str, str] = {}
    unique = options.get("unique", False)
    if not isinstance(unique, bool):
        raise InvalidJobError(f"unique must be True or False, not {unique!r}")
    if unique:
        if job_id is None:
            raise InvalidJobError("unique=True needs a job_id: uniqueness is by id")
        fields["unique"] = "1"
    dependency = to_dependency(options.get("depends_on"))
    if dependency is not None:
        fields.update(dependency_fields(dependency, job_id))
    fields.update(
        callback_fields({k: options[k] for k in CALLBACK_KINDS if options.get(k) is not None})
    )
    return fields
