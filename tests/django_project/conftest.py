"""Django for the tests in this folder only: settings from tests/django_project/settings.py,
PostgreSQL for the test database (made and dropped by pytest-django), the suite's Redis.

The rest of the suite never needs DJANGO_SETTINGS_MODULE: Django is configured here, when
pytest collects this folder.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import django
import psycopg
import pytest
from django.conf import settings

from tests.django_project import settings as project_settings

PROJECT = Path(__file__).resolve().parent


def _postgres_problem() -> str | None:
    db = project_settings.DATABASES["default"]
    try:
        psycopg.connect(
            host=db["HOST"], port=db["PORT"], user=db["USER"], dbname="postgres", connect_timeout=5
        ).close()
    except psycopg.Error as exc:
        return f"PostgreSQL at {db['HOST']}:{db['PORT']} does not answer ({exc})".strip()
    return None


if not settings.configured:
    settings.configure(
        **{
            name: getattr(project_settings, name)
            for name in dir(project_settings)
            if name.isupper()
        }
    )
    django.setup()

POSTGRES_PROBLEM = _postgres_problem()


@pytest.fixture(autouse=True)
def _needs_postgres() -> None:
    if POSTGRES_PROBLEM is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{POSTGRES_PROBLEM}; under CI the Django tests must run (.ci/run starts it)")
    pytest.skip(f"{POSTGRES_PROBLEM}: apt-get install postgresql (.ci/run does)")


@pytest.fixture(autouse=True)
def _minirq_on_test_redis(redis_url: str, settings: Any) -> Iterator[None]:
    """Point MINIRQ at the session's (flushed) Redis for every test here."""
    settings.MINIRQ = {**project_settings.MINIRQ, "REDIS_URL": redis_url}
    yield


@pytest.fixture
def project_env(subprocess_env: dict[str, str]) -> dict[str, str]:
    """Environment for manage.py subprocesses: the test database, the session's Redis."""
    return {
        **subprocess_env,
        "DJANGO_SETTINGS_MODULE": "tests.django_project.settings",
        "MINIRQ_DJANGO_DB_NAME": str(settings.DATABASES["default"]["NAME"]),
    }
