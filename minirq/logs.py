"""Log output for minirq's processes: plain text for people, JSON lines for log drains.

Both formats mask passwords in Redis URLs (``redis://:***@host``) wherever they appear in a
message or a traceback. Job start and end lines carry ``job_id``, ``func``, ``queue`` and
(at the end) ``duration_ms`` and ``status`` as structured fields (a failed attempt that
will be retried: ``status`` "retrying", with ``retries_left`` and ``retry_in_s``), which
the JSON format writes as keys of their own.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import IO, Any

from .redact import redact_url

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Fields minirq attaches to its job lines with ``extra=``; the JSON format copies them.
JOB_FIELDS = (
    "job_id",
    "func",
    "queue",
    "duration_ms",
    "status",
    "worker",
    "retries_left",
    "retry_in_s",
)


class TextFormatter(logging.Formatter):
    """A text format (minirq's, else a :mod:`logging` format such as RQ's
    ``"%(asctime)s %(message)s"``) with secrets masked."""

    def __init__(self, fmt: str | None = None, datefmt: str | None = None) -> None:
        super().__init__(fmt or TEXT_FORMAT, datefmt)

    def format(self, record: logging.LogRecord) -> str:
        return redact_url(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``ts``, ``level``, ``logger``, ``message``, job fields,
    and ``exc_info`` when there is a traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact_url(record.getMessage()),
        }
        for name in JOB_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = redact_url(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["exc_info"] = redact_url(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record comes, so redirections apply."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


FORMATTERS: dict[str, type[logging.Formatter]] = {"text": TextFormatter, "json": JsonFormatter}


def setup_logging(
    level: str = "INFO",
    log_format: str = "text",
    stream: IO[str] | None = None,
    date_format: str | None = None,
) -> None:
    """Send log records at ``level`` and above to ``stream`` (stderr) in ``log_format``:
    ``text``, ``json``, or a :mod:`logging` format string (``%(message)s``...), its times
    written with ``date_format`` (a ``time.strftime`` format) when given.

    The handler goes on the root logger so that jobs' own log lines come out the same way;
    calling it again replaces the handler it installed before, and leaves others alone.
    """
    handler = logging.StreamHandler(stream) if stream is not None else _StderrHandler()
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            TextFormatter(None if log_format == "text" else log_format, date_format)
        )
    handler.set_name("minirq")
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "minirq"]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())


__all__ = ["FORMATTERS", "JsonFormatter", "TextFormatter", "setup_logging"]
