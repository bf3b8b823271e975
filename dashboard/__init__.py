"""The minirq web dashboard: a Flask blueprint and an app factory.

The folder ``dashboard/`` installs as the package ``minirq_dashboard``. Run it with
``minirq dashboard``, serve ``minirq_dashboard.wsgi:app`` with gunicorn, or mount it in your
own Flask app::

    from minirq_dashboard import blueprint
    app.config["MINIRQ_REDIS_URL"] = "redis://..."
    app.register_blueprint(blueprint, url_prefix="/jobs")
"""

from __future__ import annotations

import importlib

from .app import Settings, blueprint, config_from_env, create_app

# The modules whose guards and routes hang on ``blueprint``; a new page or endpoint (for instance a
# /metrics route) is one more module named here.
ROUTE_MODULES = ("guards", "views", "api", "metrics")

for _module in ROUTE_MODULES:
    importlib.import_module(f"{__name__}.{_module}")

__all__ = ["ROUTE_MODULES", "Settings", "blueprint", "config_from_env", "create_app"]
