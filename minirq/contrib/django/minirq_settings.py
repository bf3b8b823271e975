"""``settings.MINIRQ`` seen as a minirq settings module (see :mod:`minirq.config`).

``manage.py minirq`` points the minirq command line at this module, so that every
command reads the Django setting the way it would read ``-c myapp.minirq_settings``.
"""

from __future__ import annotations

from typing import Any

from .conf import minirq_keys, raw_setting


def __getattr__(name: str) -> Any:
    values = raw_setting()
    if name in minirq_keys() and name in values:
        return values[name]
    raise AttributeError(name)
