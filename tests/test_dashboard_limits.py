"""The dashboard's view of limits: the JSON endpoint and the overview's section."""

from __future__ import annotations

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from minirq import Limit, Queue, SimpleWorker
from minirq.keys import Keys
from minirq_dashboard import create_app
from tests import fixtures

SCRIPT = "<script>alert(1)</script>"
KEYS = Keys()


@pytest.fixture
def app(redis_url: str) -> Flask:
    return create_app({"MINIRQ_REDIS_URL": redis_url, "TESTING": True})


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def test_the_limits_endpoint_shows_use_and_what_waits(
    connection: redis.Redis, client: FlaskClient
) -> None:
    queue = Queue(connection=connection)
    limit = Limit("stripe", concurrency=1, rate="100/m")
    jobs = [queue.enqueue(fixtures.add, i, 0, limit=limit) for i in range(3)]
    Queue("payments", connection=connection, limit=Limit("pay", concurrency=4))
    Queue("payments", connection=connection).enqueue(fixtures.add, 1, 1)
    assert SimpleWorker([queue], connection=connection).take_job() is not None
    response = client.get("/api/limits")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    rows = {row["key"]: row for row in response.get_json()["limits"]}
    assert rows["stripe"]["running"] == 1 and rows["stripe"]["concurrency"] == 1
    assert rows["stripe"]["starts_in_window"] == 1 and rows["stripe"]["rate"] == "100/m"
    assert rows["stripe"]["waiting"] == 2
    assert rows["stripe"]["waiting_ids"] == [jobs[1].id, jobs[2].id]
    assert rows["pay"]["waiting"] == 1 and rows["pay"]["running"] == 0
    assert rows["pay"]["queues"] == ["payments"]


def test_the_overview_shows_the_limits_escaped(
    connection: redis.Redis, client: FlaskClient
) -> None:
    Queue("payments", connection=connection, limit=Limit("pay", concurrency=2))
    Queue("payments", connection=connection).enqueue(fixtures.add, 1, 1)
    connection.rpush(KEYS.queue("payments"), SCRIPT)
    connection.hset(KEYS.limits, "bad", SCRIPT)
    page = client.get("/").get_data(as_text=True)
    assert 'data-limit="pay"' in page and "0 / 2" in page
    assert SCRIPT not in page
    assert "&lt;script&gt;" in page
    problems = client.get("/api/limits").get_json()["problems"]
    assert len(problems) == 1 and "bad" in problems[0]


def test_the_overview_says_when_there_is_no_limit(client: FlaskClient) -> None:
    assert "No limits yet" in client.get("/").get_data(as_text=True)
    assert client.get("/api/limits").get_json() == {
        "limits": [],
        "problems": [],
        "waiting_scan": 200,
    }
