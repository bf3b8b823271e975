"""``minirq_dashboard.wsgi:app`` for gunicorn and other WSGI servers, configured from env vars.

``REDIS_URL``, ``MINIRQ_PREFIX`` and ``MINIRQ_DASHBOARD_*`` (see :func:`config_from_env`).
A server exposed this way is reachable by whoever can reach its port, so it refuses to start
without ``MINIRQ_DASHBOARD_PASSWORD`` unless ``MINIRQ_DASHBOARD_NO_AUTH=1`` says that the
dashboard is protected some other way (a private network, an authenticating proxy).
"""

from __future__ import annotations

import os

from minirq.exceptions import ConfigurationError

from .app import config_from_env, create_app, flag

_config = config_from_env()
if not _config.get("MINIRQ_DASHBOARD_PASSWORD") and not flag(
    os.environ.get("MINIRQ_DASHBOARD_NO_AUTH", "")
):
    raise ConfigurationError(
        "set MINIRQ_DASHBOARD_PASSWORD (login admin, or MINIRQ_DASHBOARD_USERNAME), or "
        "MINIRQ_DASHBOARD_NO_AUTH=1 if something else guards the dashboard"
    )

app = create_app(_config)
