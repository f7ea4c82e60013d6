"""Logging set-up: discord.py's handler, a JSON-lines option, secret redaction, and the
ids bound to the work in hand (``bot.log_context``) as fields."""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import discord

from bot.log_context import BoundIdsFilter

# Discord bot tokens, bearer tokens and OAuth parameters that may appear in URLs or bodies.
_PATTERNS = [
    re.compile(r"[MNO][A-Za-z\d_-]{23,27}\.[A-Za-z\d_-]{6}\.[A-Za-z\d_-]{27,40}"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(r"(?i)(basic\s+)[A-Za-z0-9+/=]+"),
    re.compile(
        r"(?i)((?:access_token|refresh_token|portal_access_token|client_secret|code|state|"
        r"token)[\"']?\s*[:=]\s*[\"']?)[^\s\"'&,}]+"
    ),
]
REDACTED = "[redacted]"

# Fields of a LogRecord that are not "extra" context.
_STANDARD_ATTRS = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message"}


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    for secret in secrets:
        if secret and len(secret) >= 6:
            text = text.replace(secret, REDACTED)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + REDACTED, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites every record so known secrets and token-shaped strings never reach a handler."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg = redact(message, self._secrets)
        record.args = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self._secrets)
        return True


class JsonLinesFormatter(logging.Formatter):
    """One JSON object per line; ``extra={"report_id": ..., "interaction_id": ...}`` is kept."""

    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                event[key] = value if isinstance(value, int | float | str | bool) else str(value)
        if record.exc_text:
            event["exception"] = record.exc_text
        elif record.exc_info:
            event["exception"] = self.formatException(record.exc_info)
        return json.dumps(event, ensure_ascii=False)


def setup_logging(*, level: str, json_lines: bool, secrets: Iterable[str] = ()) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter(secrets))
    handler.addFilter(BoundIdsFilter())
    if json_lines:
        discord.utils.setup_logging(
            handler=handler, formatter=JsonLinesFormatter(), level=logging.getLevelName(level)
        )
    else:
        discord.utils.setup_logging(handler=handler, level=logging.getLevelName(level))
    # httpx logs full request URLs at INFO, which can carry OAuth codes.
    logging.getLogger("httpx").setLevel(logging.WARNING)
