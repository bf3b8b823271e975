"""The dashboard mounted in the admin: Django's users and permissions decide, no second login."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from minirq import Job, JobStatus, Queue, SimpleWorker
from minirq.contrib.django import get_queue
from minirq.contrib.django.views import dashboard_app
from tests import fixtures

MOUNT = "/admin/minirq/"
CSRF_COOKIE = "minirq_csrf"


def _user(name: str, staff: bool = True, manage: bool = False, active: bool = True) -> User:
    user = User.objects.create_user(name, password="pw", is_staff=staff, is_active=active)
    if manage:
        user.user_permissions.add(Permission.objects.get(codename="manage_jobs"))
    return user


def _client(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def _failed_job(queue: Queue) -> Job:
    job = queue.enqueue(fixtures.div_by_zero)
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    assert job.get_status() == JobStatus.FAILED
    return job


def _requeue(client: Client, job: Job) -> Any:
    client.get(MOUNT)
    token = client.cookies[CSRF_COOKIE].value
    return client.post(
        f"{MOUNT}api/jobs/{job.id}/requeue",
        HTTP_X_CSRF_TOKEN=token,
        HTTP_ORIGIN="http://testserver",
    )


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["", "api/queues", "queues/default", "static/dashboard.css"])
def test_anonymous_visitors_are_sent_to_the_admin_login(path: str) -> None:
    response = Client().get(MOUNT + path)
    assert response.status_code == 302
    assert response["Location"].startswith(f"/admin/login/?next={MOUNT}")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "user", [{"staff": False}, {"staff": False, "manage": True}, {"active": False}]
)
def test_users_who_are_not_active_staff_are_refused(user: dict[str, bool]) -> None:
    client = _client(_user("someone", **user))
    assert client.get(MOUNT).status_code in (302, 403)  # an inactive user is logged out
    assert client.get(MOUNT + "api/queues").status_code in (302, 403)
    assert b"minirq_dashboard" not in client.get(MOUNT).content


@pytest.mark.django_db
def test_staff_see_the_dashboard_under_the_mount_point() -> None:
    get_queue("high_priority").enqueue(fixtures.add, 1, 2)
    client = _client(_user("staff"))
    page = client.get(MOUNT)
    assert page.status_code == 200
    html = page.content.decode()
    assert f'href="{MOUNT}static/' in html or f'src="{MOUNT}static/' in html
    assert client.get(MOUNT + "static/dashboard.css").status_code == 200
    queues = client.get(MOUNT + "api/queues")
    assert queues.status_code == 200 and queues["Cache-Control"] == "no-store"
    assert "high_priority" in queues.content.decode()
    assert client.get(MOUNT + "queues/high_priority").status_code == 200


@pytest.mark.django_db
def test_actions_need_the_manage_jobs_permission() -> None:
    queue = get_queue("default")
    job = _failed_job(queue)
    assert _requeue(_client(_user("reader")), job).status_code == 403
    assert job.get_status() == JobStatus.FAILED
    response = _requeue(_client(_user("operator", manage=True)), job)
    assert response.status_code == 200, response.content
    assert job.get_status() == JobStatus.QUEUED


@pytest.mark.django_db
def test_actions_keep_the_dashboards_csrf_and_origin_guards() -> None:
    job = _failed_job(get_queue("default"))
    client = _client(User.objects.create_superuser("root", password="pw"))
    client.get(MOUNT)
    url = f"{MOUNT}api/jobs/{job.id}/requeue"
    assert client.post(url, HTTP_ORIGIN="http://testserver").status_code == 403
    token = client.cookies[CSRF_COOKIE].value
    foreign = client.post(url, HTTP_X_CSRF_TOKEN=token, HTTP_ORIGIN="https://evil.example")
    assert foreign.status_code == 403
    assert job.get_status() == JobStatus.FAILED


@pytest.mark.django_db
def test_the_admin_index_links_to_the_dashboard() -> None:
    client = _client(_user("staff"))
    index = client.get("/admin/").content.decode()
    assert 'href="/admin/minirq/dashboard/"' in index
    response = client.get("/admin/minirq/dashboard/")
    assert response.status_code == 302 and response["Location"] == MOUNT
    # Not to those who may not see it.
    assert (
        "/admin/minirq/dashboard/" not in _client(None).get("/admin/", follow=True).content.decode()
    )


@pytest.mark.django_db
def test_a_host_outside_allowed_hosts_never_reaches_the_dashboard() -> None:
    client = _client(_user("staff"))
    response = client.get(MOUNT + "api/queues", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert b"queues" not in response.content


@pytest.mark.django_db
def test_staff_without_the_permission_see_a_read_only_dashboard() -> None:
    job = _failed_job(get_queue("default"))
    reader = _client(_user("reader")).get(f"{MOUNT}jobs/{job.id}").content.decode()
    operator = _client(_user("operator", manage=True)).get(f"{MOUNT}jobs/{job.id}")
    assert "ZeroDivisionError" in reader
    assert "/requeue" not in reader and "/requeue" in operator.content.decode()


@pytest.mark.django_db
def test_no_second_login_even_with_a_dashboard_password_in_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MINIRQ_DASHBOARD_PASSWORD", "for-the-stand-alone-dashboard")
    dashboard_app.cache_clear()
    try:
        response = _client(_user("staff")).get(MOUNT)
    finally:
        dashboard_app.cache_clear()
    assert response.status_code == 200
    assert "WWW-Authenticate" not in response
