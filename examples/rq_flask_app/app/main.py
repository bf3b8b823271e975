"""A Flask app that hands slow work to a queue and reports on it."""

from flask import Flask, abort, jsonify, request

from minirq.job import Job

from .functions import slow_echo
from .redis_resc import redis_conn, redis_queue

app = Flask(__name__)


@app.errorhandler(404)
def not_found(error):
    return jsonify(error=str(error)), 404


@app.route("/")
def home():
    return "Running!"


@app.route("/enqueue", methods=["GET", "POST"])
def enqueue():
    """Queue the work: ``GET /enqueue?external_id=...`` or a JSON body by POST."""
    if request.method == "POST":
        payload = request.get_json(silent=True)
        if payload is None:
            abort(404, description="Send a JSON body.")
    else:
        external_id = request.args.get("external_id")
        if not external_id:
            abort(404, description="Pass the query parameter external_id.")
        payload = {"external_id": external_id}
    job = redis_queue.enqueue(slow_echo, payload)
    return jsonify(job_id=job.id)


def _job(job_id):
    try:
        return Job.fetch(job_id, connection=redis_conn)
    except Exception as exc:  # a missing or unreadable job is a 404 for the client
        abort(404, description=str(exc))


@app.route("/check_status")
def check_status():
    job = _job(request.args.get("job_id", ""))
    return jsonify(job_id=job.id, job_status=job.get_status())


@app.route("/get_result")
def get_result():
    job = _job(request.args.get("job_id", ""))
    if not job.result:
        abort(404, description=f"No result for job {job.id} yet; check its status.")
    return jsonify(job.result)


if __name__ == "__main__":
    app.run(debug=True)
