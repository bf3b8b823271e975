"""Jobs that use the ORM, run by the workers the tests start."""

from __future__ import annotations

from django.db import connection

from minirq import JSONSerializer

from .models import Signup


def welcome(signup_id: int) -> str:
    row = Signup.objects.get(pk=signup_id)
    row.welcomed = True
    row.save(update_fields=["welcomed"])
    return row.email


def orm_round_trip(index: int) -> int:
    """Write and read a row; returns the PostgreSQL backend pid that served the job."""
    row = Signup.objects.create(email=f"user{index}@example.com")
    assert Signup.objects.filter(pk=row.pk).exists()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def break_my_connection() -> None:
    """End this job's own database session, as a server restart or a proxy would."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")


# A serializer named by its dotted path in MINIRQ["SERIALIZER"].
SERIALIZER = JSONSerializer()
