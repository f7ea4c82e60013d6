"""Text from outside (request paths, header values) made safe to put in a log line."""

from __future__ import annotations

import re

_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` on one line: control characters (newlines included) as ``\\xNN`` escapes,
    so a crafted URL cannot forge a log line of its own."""
    return _UNPRINTABLE.sub(_escape, text)
