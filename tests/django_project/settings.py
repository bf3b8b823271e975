"""Settings of the Django project the integration tests drive (PostgreSQL, the suite's Redis)."""

from __future__ import annotations

import os

SECRET_KEY = "tests-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
USE_TZ = True
ROOT_URLCONF = "tests.django_project.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "minirq.contrib.django",
    "tests.django_project.shop",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
STATIC_URL = "static/"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        # manage.py subprocesses of the tests get the test database's name here.
        "NAME": os.environ.get("MINIRQ_DJANGO_DB_NAME", "minirq_django"),
        "USER": os.environ.get("PGUSER", "postgres"),
        "HOST": os.environ.get("PGHOST", "127.0.0.1"),
        "PORT": os.environ.get("PGPORT", "5432"),
        # A test database per test session, so that two checkouts can run the suite at once.
        "TEST": {"NAME": f"test_minirq_{os.getpid()}"},
    }
}

MINIRQ = {
    "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
    "QUEUES": ["high_priority", "default", "low_priority"],
    "PREFIX": "djtest",
}

# For the test that `manage.py check` names a bad value.
if os.environ.get("MINIRQ_TEST_BAD_SETTING"):
    MINIRQ["LEASE_S"] = -5
if os.environ.get("MINIRQ_TEST_SERIALIZER"):
    MINIRQ["SERIALIZER"] = os.environ["MINIRQ_TEST_SERIALIZER"]
if os.environ.get("MINIRQ_TEST_ALLOW_MODULES"):
    MINIRQ["ALLOW_MODULES"] = os.environ["MINIRQ_TEST_ALLOW_MODULES"].split(",")
