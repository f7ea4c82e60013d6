"""Date ranges typed by moderators (``2025-01-31``), as Unix-second bounds in UTC."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from bot.errors import InvalidInput
from bot.i18n import Day, t
from bot.i18n.text import Text
from bot.services.reporting.typed_input import shown

DAY = 86400.0


@dataclass(frozen=True)
class DateRange:
    """``[since, until)`` in Unix seconds; either end may be open."""

    since: float | None
    until: float | None

    def describe(self) -> Text:
        """The days the range covers, written the reader's way (``until`` is exclusive:
        the last day it includes is shown)."""
        if self.since is not None and self.until is not None:
            return t("{start} to {end}", start=Day(self.since), end=Day(self.until - 1))
        if self.since is not None:
            return t("{start} to now", start=Day(self.since))
        if self.until is not None:
            return t("the beginning to {end}", end=Day(self.until - 1))
        return t("the beginning to now")


def iso_day(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


def iso_time(ts: float | None) -> str:
    """ISO 8601 in UTC with seconds, or an empty string."""
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def _parse(text: str, what: str) -> datetime:
    """``what``: "start" or "end", which date of the range it is."""
    value = text.strip()
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            t('I could not read the start date {shown}: use YYYY-MM-DD, e.g. 2025-01-31.',
              shown=shown(value, 40)) if what == "start" else
            t('I could not read the end date {shown}: use YYYY-MM-DD, e.g. 2025-01-31.',
              shown=shown(value, 40))
        ) from None
    aware = parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    try:
        # A time zone can push a date at either end of the calendar out of it.
        return aware.astimezone(UTC)
    except OverflowError:
        raise InvalidInput(
            t('The start date {shown} is outside the calendar I can use.',
              shown=shown(value, 40)) if what == "start" else
            t('The end date {shown} is outside the calendar I can use.',
              shown=shown(value, 40))
        ) from None


def parse_range(
    since: str | None,
    until: str | None,
    *,
    default_days: int | None = None,
    now: float | None = None,
) -> DateRange:
    """A range from two optional dates; ``until`` includes the whole day it names.

    Without ``since``, the range starts ``default_days`` before now (or is open).
    """
    current = time.time() if now is None else now
    start: float | None = None
    end: float | None = None
    if since:
        start = _parse(since, "start").timestamp()
    elif default_days is not None:
        start = current - default_days * DAY
    if until:
        parsed = _parse(until, "end")
        if len(until.strip()) != 10:
            end = parsed.timestamp()
        elif parsed.date() < date.max:
            end = (parsed + timedelta(days=1)).timestamp()
        # else: up to and including the calendar's last day is no end at all.
    if start is not None and end is not None and start >= end:
        raise InvalidInput(t('The start date must be before the end date.'))
    return DateRange(start, end)
