"""The job: send an email. Runs in the worker, never in the web request."""

from __future__ import annotations

import os
import smtplib
import uuid
from email.message import EmailMessage
from pathlib import Path


def send_email(to: str, subject: str, body: str) -> str:
    """Send through $SMTP_URL's server (host:port), or, without it, write the message to
    $OUTBOX_DIR (default ./outbox) as a .eml file, as a development mail backend does."""
    message = EmailMessage()
    message["From"] = os.environ.get("MAIL_FROM", "app@example.com")
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    smtp = os.environ.get("SMTP_URL")
    if smtp:
        host, _, port = smtp.partition(":")
        with smtplib.SMTP(host, int(port or 25), timeout=30) as server:
            server.send_message(message)
        return f"sent to {to} via {host}"
    outbox = Path(os.environ.get("OUTBOX_DIR", "outbox"))
    outbox.mkdir(parents=True, exist_ok=True)
    path = outbox / f"{uuid.uuid4().hex}.eml"
    path.write_bytes(bytes(message))
    return f"written to {path}"
