"""Keep the pages' polling out of the request log at INFO.

Every open page asks the JSON API for fresh data every few seconds; logged at INFO by the
development server (``werkzeug``) or gunicorn's access log, those lines bury everything
else. They are logged at DEBUG instead: shown only when that logger is set to DEBUG.
"""

from __future__ import annotations

import logging
import re

# A successful GET of an API route, as both loggers write the request line.
POLL_LINE = re.compile(r'"(?:GET|HEAD) [^" ]*/api/[^" ]* HTTP/[0-9.]+" (?:200|304)\b')
LOGGERS = ("werkzeug", "gunicorn.access")


class PollFilter(logging.Filter):
    """Demotes poll requests to DEBUG, and drops them unless the logger shows DEBUG."""

    def __init__(self, logger: logging.Logger) -> None:
        super().__init__()
        self.logger = logger

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO:
            return True
        try:
            message = record.getMessage()
        except Exception:
            return True
        if not POLL_LINE.search(message):
            return True
        if not self.logger.isEnabledFor(logging.DEBUG):
            return False
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return True


def quiet_poll_logs() -> None:
    """Install :class:`PollFilter` on the request loggers, once per process."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, PollFilter) for f in logger.filters):
            logger.addFilter(PollFilter(logger))
