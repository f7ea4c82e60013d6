"""The hostile inputs: text a member (or a moderator) can type, ids they can paste, files
they can attach. Each entry has a short name for the test id.

``text(limit)`` cuts every text to what the field accepts: Discord's client enforces
an option's or text input's length, so anything longer never reaches Warden; the
longest value that does is part of the corpus instead.
"""

from __future__ import annotations

from dataclasses import dataclass

ZALGO = "Z" + "\u0336\u0317\u0353\u0301\u0300\u0352\u0346" * 12 + "algo" + "\u034f\u0489" * 20
MARKDOWN = (
    "**bold** __under__ ~~strike~~ ||spoiler|| `code` ```py\nprint(1)\n``` > quote\n"
    "# Heading\n-# small\n[click here](https://evil.example/login) <https://evil.example>"
)


def mentions(user_id: int, role_id: int, channel_id: int) -> dict[str, str]:
    """Mention injection, with ids that exist in the guild (so a ping would be real)."""
    return {
        "everyone": "@everyone look at this",
        "here": "@here come here",
        "everyone-zw": "@\u200beveryone and @every\u200bone",
        "role": f"<@&{role_id}> please act",
        "user": f"<@{user_id}> and <@!{user_id}>",
        "channel-cmd": f"<#{channel_id}> </report:1> <t:0:R> <:emoji:1> <a:anim:2>",
        "all-mentions": f"@everyone @here <@&{role_id}> <@{user_id}>",
    }


TEXTS: dict[str, str] = {
    "blank": " ",
    "newlines": "\n\n\n",
    "zero-width-only": "\u200b\u200c\u200d\u2060\ufeff",
    "control-chars": "a\x00b\x07c\x1b[31mred\x1b[0m\rd\x08e\x7f\tf",
    "rtl-override": "\u202eexe.gnp\u202c evil \u2067isolate\u2069 \u200fRLM",
    "zalgo": ZALGO,
    "markdown": MARKDOWN,
    "sql": "'; DROP TABLE reports; -- \" OR 1=1 -- % _ \\ Robert'); DELETE FROM audit_log;--",
    "like-wildcards": "%%__%",
    "formula": "=HYPERLINK(\"https://evil.example\",\"x\")",
    "html": "<script>alert(1)</script><img src=x onerror=alert(1)>",
    "emoji": "\U0001f525" * 40 + "\U0001f468\u200d\U0001f469\u200d\U0001f467" * 10,
    "backticks": "``` ` `` \\` ˋ",
    "path": "../../../../etc/passwd",
    "format-string": "{0} {report} %s %(x)s {{}} {.__class__}",
    "json": '{"warden_report_id": "1", "custom_data": {"a": "b"}}',
    # Two masked links on one line: discord.py's escape_markdown leaves the second live.
    "masked-links": "[Verify your account](https://evil.example/login) then "
                    "[free nitro](<https://evil.example/nitro>) **now**",
}

LIVE_MASKED_LINK = r"(?<!\\)\[[^\]\\]*\]\(<?https://evil"
"""A masked link to the corpus's evil site whose ``[`` is not escaped: it would render
as a clickable disguise in an embed."""


def texts(limit: int, *, mention_ids: tuple[int, int, int] | None = None,
          longest: bool = True) -> dict[str, str]:
    """Every hostile text that fits ``limit`` characters, plus ones exactly at the limit
    (made of mentions, Zalgo and markdown, so that the longest text is also hostile)."""
    found = dict(TEXTS)
    if mention_ids is not None:
        found |= mentions(*mention_ids)
    found = {name: value[:limit] for name, value in found.items()}
    if longest:
        filler = (found.get("all-mentions", "@everyone ") + " " + ZALGO + " " + MARKDOWN + " ")
        found["longest"] = (filler * (limit // len(filler) + 1))[:limit]
        found["longest-one-word"] = "W" * limit
    return found


ACTIVITY_IDS: dict[str, str] = {
    "zero": "0",
    "negative": "-1",
    "int64-max+1": "9223372036854775808",
    "twenty-digits": "99999999999999999999",
    "float": "1e10",
    "superscript-digits": "\u00b2\u00b3",
    "fullwidth-digits": "\uff11\uff12\uff13\uff14",
    "arabic-digits": "\u0661\u0662\u0663",
    "spaces-inside": "123 456",
    "pgcr-link-bad": "https://www.bungie.net/en/PGCR/abc",
    "pgcr-link-huge": "https://www.bungie.net/en/PGCR/99999999999999999999",
    "other-site-link": "https://evil.example/7/?next=https://www.bungie.net/en/PGCR/5",
    "javascript-url": "javascript:alert(1)",
    "match-id-with-colons": "match:abc.def-1_2",
    "unknown-activity": "7",
}

UNKNOWN_ACTIVITY_REPEATED = "31337000001"
"""Typed again and again into the player picker: Bungie must be asked once."""

UUIDS: dict[str, str] = {
    "nil-uuid": "00000000-0000-0000-0000-000000000000",
    "braced-uuid": "{9f1c2d3e-0000-4000-8000-00000000dead}",
    "undashed-uuid": "9f1c2d3e000040008000000000000dead",
    "not-hex-uuid": "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz",
    "short-uuid": "9f1c2d3e-0000-4000-8000",
}

BUNGIE_NAMES: dict[str, str] = {
    "name-hash-only": "Name#",
    "hash-code-only": "#1234",
    "code-too-long": "Name#12345678901",
    "code-zero": "Name#0",
    "code-negative": "Name#-1",
    "double-hash": "Name##1234",
    "only-hash": "#",
    "spaces": "  Na   me  #  1234 ",
    "fullwidth-code": "Name#\uff11\uff12\uff13\uff14",
    "superscript-code": "Name#\u00b2",
    "unknown-player": "Nobody#9999",
    "zalgo-name": ZALGO[:40] + "#1234",
}

DATES: dict[str, str] = {
    "far-future": "9999-12-31",
    "year-one": "0001-01-01",
    "year-one-east": "0001-01-01T00:00:00+01:00",
    "year-max-west": "9999-12-31T23:59:59-01:00",
    "feb-30": "2025-02-30",
    "hour-25": "2025-01-31T25:00",
    "slashes": "31/01/2025",
    "fullwidth": "\uff12\uff10\uff12\uff15-01-31",
    "sql": "2025-01-01' OR '1'='1",
    "words": "yesterday",
    "huge": "2025-01-31" * 50,
}

INTS: dict[str, int] = {
    "one": 1,
    "big": 2**31,
    "js-max": 2**53 - 1,
}


@dataclass(frozen=True)
class File:
    filename: str
    data: bytes


def files() -> dict[str, File]:
    return {
        "zero-byte": File("empty.png", b""),
        "ten-mib": File("huge.mp4", b"\0" * (10 * 1024 * 1024)),
        "mention-name": File("@everyone.png", b"png"),
        "markdown-name": File("a](https___evil.example)[b.png", b"png"),
        "rtl-name": File("\u202egnp.exe", b"exe"),
        "long-name": File("x" * 200 + ".png", b"png"),
        "path-name": File("..%2F..%2Fetc%2Fpasswd", b"root"),
    }


# -- from the internet, at the web server (issue 12) -------------------------------------

LOG_FORGING_PATHS: dict[str, str] = {
    "newline": "/x%0a[CRITICAL] warden: database wiped",
    "crlf": "/oauth/bungie/callback%0d%0aINFO forged line",
    "escape-sequence": "/%1b[2J%1b[31mred",
    "nul": "/a%00b",
    "line-separator": "/a%e2%80%a8b%e2%80%a9c%c2%85d",
    "delete": "/a%7fb",
}

ONE_TIME_SECRETS: dict[str, str] = {
    "empty": "",
    "junk": "junk",
    "well-shaped-unknown": "A" * 43,
    "one-too-long": "A" * 44,
    "padded": "A" * 42 + "=",
    "unicode": "\u0410" * 43,
    "sql": "' OR 1=1 --",
    "huge": "x" * 4000,
    "percent-newline": "%0a[CRITICAL]",
}

DISCORD_NAMES: dict[str, str] = {
    **{f"text-{name}": value for name, value in TEXTS.items()},
    "impersonation": "@victim (Victim) on Discord. You are linking Bungie.net to @victim",
    "attribute-break": '"><a href="https://evil.example">continue</a>',
}

EVIDENCE_URLS: dict[str, str] = {
    "cloud-metadata": "http://169.254.169.254/latest/meta-data/",
    "loopback": "http://127.0.0.1:8080/metrics",
    "file": "file:///etc/passwd",
    "plain-http-cdn": "http://cdn.discordapp.com/attachments/1/2/a.png",
    "cdn-lookalike": "https://cdn.discordapp.com.evil.example/a.png",
    "cdn-other-port": "https://cdn.discordapp.com:8443/a.png",
    "userinfo-trick": "https://cdn.discordapp.com@evil.example/a.png",
    "discord-site": "https://discord.com/api/v10/users/@me",
    "javascript": "javascript:alert(1)",
    "relative": "/attachments/1/2/a.png",
    "empty": "",
}

FORWARDING_HEADERS: dict[str, tuple[str, str]] = {
    "x-forwarded-for": ("X-Forwarded-For", "203.0.113.9"),
    "forwarded": ("Forwarded", "for=203.0.113.9;proto=https"),
    "x-real-ip": ("X-Real-IP", "203.0.113.9"),
    "x-forwarded-host": ("X-Forwarded-Host", "warden.example.org"),
}
