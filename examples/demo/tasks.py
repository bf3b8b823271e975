"""Jobs the demo producer enqueues (`make run`)."""

from __future__ import annotations

import random
import time


def resize_image(name: str, width: int) -> str:
    """Pretend to resize an image, taking a little while."""
    time.sleep(random.uniform(0.05, 0.4))
    return f"{name} resized to {width}px"


def send_email(to: str, subject: str) -> str:
    time.sleep(random.uniform(0.05, 0.2))
    if random.random() < 0.1:
        raise ConnectionError(f"SMTP server refused mail to {to}")
    return f"sent {subject!r} to {to}"
