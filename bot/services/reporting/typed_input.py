"""Checks on what a member typed into a report, before anything is stored or looked up.

The limits are the upstream APIs' own (the sanctions API takes a description of
1-4096 characters and ``custom_data`` values of 1-4096; Bungie ids are int64), so
a stored report is always one both APIs can accept. Every refusal names the field
and the limit, and echoes what the member typed only through ``shown``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from uuid import UUID

from bot.apis.sanctions.models import CUSTOM_DATA_VALUE_MAX, DESCRIPTION_MAX
from bot.domain import ReportLimits
from bot.errors import InvalidInput
from bot.i18n import Duration, Text, t
from bot.store.reports import LimitHit

INT64_MAX = 2**63 - 1
MATCH_ID_MAX = 128
"""Game match ids are opaque strings upstream; 128 covers uuids and session ids."""
SHOWN_MAX = 64
_MATCH_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:\-]*")
_MENTION = re.compile(r"^<@!?(\d{1,21})>$")
_MEMBER_VALUE = re.compile(r"^member:(\d{1,21})$")


def shown(text: str, limit: int = SHOWN_MAX) -> str:
    """Member-typed text made safe to echo: one line, no markdown, in a code span.

    Replies are also sent with mentions disabled; this stops the text from
    restyling the message or breaking out of its quotes.
    """
    flat = " ".join(str(text).split())
    if len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    # A backtick would end the code span; the look-alike keeps the text readable.
    return "`" + (flat.replace("`", "ˋ") or " ") + "`"


def clean_description(text: str | None) -> str | None:
    """The description as sent upstream (None when blank); refuses one over the limit."""
    if text is None:
        return None
    cleaned = text.strip()
    if not cleaned:
        return None
    if len(cleaned) > DESCRIPTION_MAX:
        raise InvalidInput(
            t('The description is {len} characters long; the limit is {DESCRIPTION_MAX}. '
              'Shorten it (put long logs in an attachment) and try again.',
              len=len(cleaned), DESCRIPTION_MAX=DESCRIPTION_MAX)
        )
    return cleaned


@dataclass(frozen=True)
class ActivityRef:
    """What the member gave as the activity: a Destiny activity id or a game match id."""

    activity_id: int | None = None
    match_id: str | None = None


def parse_activity(text: str | None) -> ActivityRef:
    """A number is a Destiny activity (PGCR) id; anything else a game match id."""
    if text is None or not text.strip():
        return ActivityRef()
    raw = text.strip()
    # People paste PGCR links; the id is the last number in them.
    link = re.search(r"/(?:pgcr/)?(\d{1,20})/?(?:[?#].*)?$", raw, re.IGNORECASE)
    if link and raw.lower().startswith(("http://", "https://")):
        raw = link.group(1)
    # isdecimal, not isdigit: "²" is a digit that int() refuses; fullwidth and other
    # decimal digits are what some keyboards type and int() reads them.
    if raw.isdecimal():
        value = int(raw)
        if not 1 <= value <= INT64_MAX:
            raise InvalidInput(
                t('{shown} is not a Destiny activity id: it must be a number between 1 and '
                  '{INT64_MAX}.',
                  shown=shown(raw), INT64_MAX=INT64_MAX)
            )
        return ActivityRef(activity_id=value)
    if len(raw) > MATCH_ID_MAX or not _MATCH_ID.fullmatch(raw):
        raise InvalidInput(
            t('{shown} is neither a Destiny activity id (a number) nor a game match id '
              "(letters, digits, '-', '_', '.', ':'; at most {MATCH_ID_MAX} characters).",
              shown=shown(raw), MATCH_ID_MAX=MATCH_ID_MAX)
        )
    return ActivityRef(match_id=raw)


def parse_uuid(text: str) -> UUID | None:
    """A game player uuid written with or without dashes; None if the text is not one."""
    raw = text.strip().strip("{}")
    if not re.fullmatch(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?"
                        r"[0-9a-fA-F]{12}", raw):
        return None
    return UUID(raw)


def parse_member(text: str) -> int | None:
    """A Discord member written as a mention (``<@123>``) or chosen from autocomplete."""
    raw = text.strip()
    match = _MENTION.match(raw) or _MEMBER_VALUE.match(raw)
    return int(match.group(1)) if match else None


def custom_value(text: str) -> str:
    """A ``custom_data`` value cut to the API's limit (values are never empty)."""
    value = text if text else "-"
    if len(value) <= CUSTOM_DATA_VALUE_MAX:
        return value
    return value[: CUSTOM_DATA_VALUE_MAX - 1] + "…"


# ---- limits ---------------------------------------------------------------------------

def limit_message(hit: LimitHit, limits: ReportLimits, now: float) -> Text:
    """Which limit the member reached and when they may report again: whole messages,
    the waits as ``Duration`` (in the reader's language) and the time as a Discord
    timestamp (in the reader's own time zone)."""
    if hit.rule == "target_activity":
        return t("You already reported this player for this activity. One report per player "
                 "and activity is enough: moderators see everything in it.")
    if hit.retry_at is None:  # only the rule above has no end; a rule added later might
        return t("You reached this server's report limit.")
    wait = Duration(hit.retry_at - now)
    at = f"<t:{math.ceil(hit.retry_at)}:t>"
    if hit.rule == "short" and limits.short_count == 1:
        return t("This server allows 1 report every {every}. You can report again in {wait} "
                 "(at {at}).", every=Duration(limits.short_seconds), wait=wait, at=at)
    if hit.rule == "short":
        return t("This server allows {count} reports every {every}. You can report again "
                 "in {wait} (at {at}).", count=limits.short_count,
                 every=Duration(limits.short_seconds), wait=wait, at=at)
    if hit.rule == "hour":
        return t("This server allows {count} reports per hour. You can report again in "
                 "{wait} (at {at}).", count=limits.hour_count, wait=wait, at=at)
    if hit.rule == "day":
        return t("This server allows {count} reports per day. You can report again in "
                 "{wait} (at {at}).", count=limits.day_count, wait=wait, at=at)
    if hit.rule == "target_cooldown":
        return t("You already reported this player in the last {cooldown}. To report "
                 "something new sooner, give the activity it happened in. You can report "
                 "again in {wait} (at {at}).",
                 cooldown=Duration(limits.target_cooldown_hours * 3600), wait=wait, at=at)
    return t("You reached this server's report limit. You can report again in {wait} "
             "(at {at}).", wait=wait, at=at)
