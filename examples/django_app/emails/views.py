from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from minirq.contrib.django import enqueue_on_commit, get_queue

from .models import Signup
from .tasks import send_digest, send_welcome_email


def signup(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        email = request.POST.get("email", "").strip()
        if "@" not in email:
            return render(request, "emails/signup.html", {"error": "an e-mail address"}, status=400)
        with transaction.atomic():
            row = Signup.objects.create(email=email)
            # Enqueued when the row is committed, never for a rolled-back signup.
            job = enqueue_on_commit(send_welcome_email, row.pk, queue="high_priority")
            row.job_id = job.id
            row.save(update_fields=["job_id"])
        if request.POST.get("digest"):
            get_queue("low_priority").enqueue(send_digest)
        return redirect("status", pk=row.pk)
    return render(request, "emails/signup.html", {})


def status(request: HttpRequest, pk: int) -> HttpResponse:
    row = get_object_or_404(Signup, pk=pk)
    job = get_queue("high_priority").fetch_job(row.job_id)
    context = {"signup": row, "status": job.get_status().value if job else "gone"}
    return render(request, "emails/status.html", context)
