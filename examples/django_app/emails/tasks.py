"""The jobs: plain functions, run by `python manage.py minirq worker`."""

from django.core.mail import send_mail
from django.utils import timezone

from .models import Signup


def send_welcome_email(signup_id: int) -> str:
    """High priority: the user is waiting for it."""
    signup = Signup.objects.get(pk=signup_id)
    send_mail("Welcome!", "Thanks for signing up.", None, [signup.email])
    signup.welcomed_at = timezone.now()
    signup.save(update_fields=["welcomed_at"])
    return f"welcomed {signup.email}"


def send_digest() -> int:
    """Low priority: one e-mail to every user who signed up; returns how many were sent."""
    emails = list(Signup.objects.values_list("email", flat=True))
    for email in emails:
        send_mail("This week", "Here is what happened.", None, [email])
    return len(emails)
