"""minirq in a Django project: ``INSTALLED_APPS += ["minirq.contrib.django"]``.

- ``settings.MINIRQ``: minirq's settings (see :mod:`minirq.contrib.django.conf`), checked
  by ``manage.py check``;
- ``python manage.py minirq <command>``: any ``minirq`` command with Django set up;
- :func:`get_queue`, :func:`enqueue_on_commit`, :func:`get_connection`;
- database connections closed before each fork and around each job in every worker;
- the dashboard inside the admin: ``path("admin/minirq/", include("minirq.contrib.django.urls"))``.
"""

from .queues import enqueue_on_commit, get_connection, get_queue

__all__ = ["enqueue_on_commit", "get_connection", "get_queue"]
