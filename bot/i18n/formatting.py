"""Numbers, dates and durations in a locale's own conventions (Babel's CLDR data).

Babel's locale data is loaded on first use, per locale, never at start-up.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Literal

from bot.i18n.locales import LANGUAGES, language_of


def number(value: float, locale: object) -> str:
    from babel.numbers import format_decimal

    return str(format_decimal(value, locale=language_of(locale).catalog))


def date_time(value: datetime, locale: object) -> str:
    from babel.dates import format_datetime

    return str(format_datetime(value, format="medium", locale=language_of(locale).catalog))


_Unit = Literal["day", "hour", "minute", "second"]
_UNITS: tuple[tuple[_Unit, int], ...] = (
    ("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))
_SIZES = dict(_UNITS)


def duration(seconds: float, locale: object) -> str:
    """``1 day, 12 hours``, ``1 Tag, 12 Stunden``, ``1日12時間``: the two largest units,
    the smaller rounded up (a wait is never shown shorter than it is), never 0. Days stay
    days (CLDR would turn 10 days into "1 week")."""
    language = language_of(locale)
    parts = _parts(seconds)
    if language is LANGUAGES[0]:
        # English, the default of every Duration, without loading Babel and its CLDR data
        # (megabytes) into a process that never shows another language. Same words.
        words = [f"{count} {name}{'s' if count != 1 else ''}" for name, count in parts]
        return ", ".join(words)
    from babel.dates import format_timedelta
    from babel.lists import format_list

    code = language.catalog
    shown = [str(format_timedelta(timedelta(seconds=count * _SIZES[name]), threshold=1e9,
                                  granularity=name, locale=code)) for name, count in parts]
    try:
        return str(format_list(shown, style="unit", locale=code))
    except KeyError:
        # Babel's CLDR data for Spanish defines the "unit" list only in part
        # (python-babel/babel#1098): "1 hora y 30 minutos" reads as well.
        return str(format_list(shown, style="standard", locale=code))


def _parts(seconds: float) -> list[tuple[_Unit, int]]:
    total = max(1, math.ceil(seconds))
    big = next(i for i, (_, size) in enumerate(_UNITS) if total >= size)
    small = min(big + 1, len(_UNITS) - 1)
    rest = math.ceil(total / _UNITS[small][1]) * _UNITS[small][1]
    parts = []
    for name, size in _UNITS[big:small + 1]:
        count, rest = divmod(rest, size)
        if count:
            parts.append((name, count))
    return parts


class Duration(str):
    """A span of time as a message parameter: English as a ``str``, and in the reader's
    language (``duration``) when the message around it is rendered."""

    seconds: float

    def __new__(cls, seconds: float) -> Duration:
        self = super().__new__(cls, duration(seconds, None))
        self.seconds = seconds
        return self

    def render(self, locale: object) -> str:
        return duration(self.seconds, locale)

    def __reduce__(self) -> tuple[object, ...]:
        return (Duration, (self.seconds,))
