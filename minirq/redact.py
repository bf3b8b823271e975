"""Keeping Redis passwords out of text: errors, log lines, command output.

Two nets, because text reaches output from places minirq does not write (redis-py's and
urllib's exception messages, a job's own log lines):

- patterns: the password of any ``scheme://user:password@host`` URL in the text (the
  userinfo runs to the *last* ``@``, so a password holding ``@``, ``/``, ``?`` or ``:`` is
  masked whole), ``password=`` and ``sentinel_password=`` query values, and
  ``password='...'`` / ``'password': '...'`` as Python reprs of keyword arguments print them;
- known secrets: every password :func:`minirq.connection.connect` was given is remembered
  and masked wherever it appears, whatever surrounds it.
"""

from __future__ import annotations

import re
import threading

MASK = "***"
# Shorter secrets are not masked as free text: masking "ab" everywhere would garble output
# while protecting little. The patterns above still mask them inside URLs and kwargs.
MIN_KNOWN_SECRET_LENGTH = 6

_URL_RE = re.compile(r"(?P<scheme>\b[a-z][a-z0-9+.-]*://)(?P<rest>[^\s'\"<>`]*)", re.IGNORECASE)
_QUERY_SECRET_RE = re.compile(
    r"(?P<name>\b(?:sentinel_)?password=)(?![\"'])[^&\s'\"]*", re.IGNORECASE
)
_KWARG_SECRET_RE = re.compile(
    r"(?P<name>\b(?:sentinel_)?password['\"]?\s*[:=]\s*)(?P<quote>['\"])(?:(?!(?P=quote)).)*"
    r"(?P=quote)",
    re.IGNORECASE,
)

_QUERY_PARAMETER_RE = re.compile(r"[?&][a-z_]+=", re.IGNORECASE)

_known_secrets: set[str] = set()
_known_lock = threading.Lock()


def split_userinfo(scheme: str, rest: str, *, parsing: bool = False) -> tuple[str | None, str]:
    """``rest`` (what follows ``scheme://``) split into its userinfo and the remainder.

    The userinfo ends at the last ``@`` (``@/`` for a unix socket, whose path may hold
    ``@``); none when ``rest`` starts with ``/``. With ``parsing``, an ``@`` that sits in a
    query string (``?password=a@b``) does not end a userinfo; redaction leaves that off, as
    masking too much is the safe side there.
    """
    if rest.startswith("/"):
        return None, rest
    at = rest.rfind("@/") if scheme.lower().startswith("unix") else rest.rfind("@")
    if parsing and at >= 0 and _QUERY_PARAMETER_RE.search(rest[:at]):
        query = rest.find("?")
        at = rest.rfind("@", 0, query)
    if at < 0:
        return None, rest
    return rest[:at], rest[at + 1 :]


def remember_secret(secret: str | None) -> None:
    """Mask ``secret`` in every later :func:`redact_url` result."""
    if secret and len(secret) >= MIN_KNOWN_SECRET_LENGTH:
        with _known_lock:
            _known_secrets.add(secret)


def _mask_url(match: re.Match[str]) -> str:
    scheme, rest = match["scheme"], match["rest"]
    userinfo, remainder = split_userinfo(scheme.removesuffix("://"), rest)
    if userinfo is None or ":" not in userinfo:
        return match[0]
    user = userinfo.partition(":")[0]
    return f"{scheme}{user}:{MASK}@{remainder}"


def redact_url(text: str) -> str:
    """``text`` (a URL, or any text holding URLs or connection kwargs) with passwords
    replaced by ``***``."""
    text = _URL_RE.sub(_mask_url, text)
    text = _KWARG_SECRET_RE.sub(lambda m: f"{m['name']}{m['quote']}{MASK}{m['quote']}", text)
    text = _QUERY_SECRET_RE.sub(lambda m: f"{m['name']}{MASK}", text)
    with _known_lock:
        secrets = sorted(_known_secrets, key=len, reverse=True)
    for secret in secrets:
        text = text.replace(secret, MASK)
    return text


__all__ = ["MASK", "redact_url", "remember_secret", "split_userinfo"]
