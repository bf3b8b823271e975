"""A small web app whose form sends an email in the background.

    cd examples/flask_app
    minirq worker emails                                  # terminal 1
    MINIRQ_DASHBOARD_PASSWORD=pw flask --app app run      # terminal 2, then open :5000

On Heroku (or with `honcho start`) the Procfile next to this file runs both. With
MINIRQ_DASHBOARD_PASSWORD set, the minirq dashboard is mounted at /minirq (login admin).
"""

from __future__ import annotations

import os

import redis
from emails import send_email
from flask import Flask, abort, redirect, render_template_string, request, url_for
from werkzeug.wrappers import Response

from minirq import Job, NoSuchJobError, Queue, connect
from minirq_dashboard import blueprint as minirq_dashboard

PAGE = """<!doctype html>
<title>Send an email</title>
<h1>Send an email</h1>
<form method="post" action="{{ url_for('send') }}">
  <p><label>To <input name="to" type="email" required></label>
  <p><label>Subject <input name="subject" required></label>
  <p><label>Message<br><textarea name="body" rows="5" cols="40"></textarea></label>
  <p><button>Send</button>
</form>
{% if job %}<p id="status">Job {{ job.id }}: {{ status }}{% if result %} ({{ result }}){% endif %}
{% endif %}
{% if dashboard %}<p><a href="/minirq/">Jobs dashboard</a>{% endif %}
"""


def create_app(connection: redis.Redis | None = None) -> Flask:
    """The app; ``connection`` defaults to $REDIS_URL's Redis."""
    app = Flask(__name__)
    connection = connection if connection is not None else connect()
    queue = Queue("emails", connection=connection)
    # The dashboard can requeue and delete jobs: mount it only behind a password.
    dashboard = bool(os.environ.get("MINIRQ_DASHBOARD_PASSWORD"))
    if dashboard:
        app.config["MINIRQ_REDIS_CONNECTION"] = connection
        app.register_blueprint(minirq_dashboard, url_prefix="/minirq")

    @app.get("/")
    def index() -> str:
        return render_template_string(PAGE, job=None, dashboard=dashboard)

    @app.post("/send")
    def send() -> Response:
        to, subject = request.form.get("to", "").strip(), request.form.get("subject", "").strip()
        if "@" not in to or not subject:
            abort(400, "an address and a subject are needed")
        job = queue.enqueue(send_email, to, subject, request.form.get("body", ""))
        return redirect(url_for("job_status", job_id=job.id), code=303)

    @app.get("/jobs/<job_id>")
    def job_status(job_id: str) -> str:
        try:
            job = Job.fetch(job_id, connection=connection)
        except NoSuchJobError:
            abort(404)
        status = job.get_status()
        result = job.return_value() if job.is_finished else None
        return render_template_string(
            PAGE, job=job, status=status and status.value, result=result, dashboard=dashboard
        )

    return app
