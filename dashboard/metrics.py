"""``GET /metrics``: the deployment's Prometheus metrics (see :mod:`minirq.metrics`).

It sits behind the dashboard's login like every other route; point Prometheus at it with
``basic_auth`` in the scrape config.
"""

from __future__ import annotations

from flask import Response

from minirq.metrics import CONTENT_TYPE, metrics_text

from .app import blueprint, source


@blueprint.get("/metrics", endpoint="metrics")
def metrics() -> Response:
    data = source()
    response = Response(metrics_text(data.connection, data.prefix), content_type=CONTENT_TYPE)
    response.headers["Cache-Control"] = "no-store"
    return response
