"""Views that enqueue from inside a transaction."""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from minirq.contrib.django import enqueue_on_commit

from .jobs import welcome
from .models import Signup


@csrf_exempt
@transaction.atomic
def signup(request: HttpRequest) -> HttpResponse:
    row = Signup.objects.create(email=request.POST["email"])
    job = enqueue_on_commit(welcome, row.pk, queue="high_priority")
    return JsonResponse({"job": job.id, "signup": row.pk})


class Refused(Exception):
    pass


@csrf_exempt
def signup_then_fail(request: HttpRequest) -> HttpResponse:
    try:
        with transaction.atomic():
            row = Signup.objects.create(email=request.POST["email"])
            enqueue_on_commit(welcome, row.pk)
            raise Refused("payment declined")
    except Refused:
        return HttpResponse("declined", status=402)


def no_favicon(request: HttpRequest) -> HttpResponse:
    return HttpResponse(status=204)
