"""Numbers, dates and durations in a locale's own conventions (Babel's CLDR data).

Babel's locale data is loaded on first use, per locale, never at start-up.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Literal, Self

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


# CLDR's English, for the English default of every parameter below without Babel (see
# ``duration``); tests/i18n/test_formatting.py holds them to Babel's output.
_AGO_UNITS: tuple[tuple[str, int], ...] = (
    ("year", 365 * 86400), ("month", 30 * 86400), ("week", 7 * 86400), ("day", 86400),
    ("hour", 3600), ("minute", 60), ("second", 1))
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_AGO_THRESHOLD = 2
"""A unit is used from two of it on: "30 hours ago", then "2 days ago"."""


def ago(seconds: float, locale: object) -> str:
    """``3 hours ago``, ``vor 3 Stunden``: how long ago, in the reader's language."""
    language = language_of(locale)
    span = max(0.0, seconds)
    if language is LANGUAGES[0]:
        for name, size in _AGO_UNITS:
            value = span / size
            if value >= _AGO_THRESHOLD or name == "second":
                count = max(1, round(value))
                return f"{count} {name}{'s' if count != 1 else ''} ago"
    from babel.dates import format_timedelta

    return str(format_timedelta(timedelta(seconds=-span), add_direction=True,
                                threshold=_AGO_THRESHOLD, locale=language.catalog))


def items(values: Iterable[str], locale: object) -> str:
    """``A, B, and C``, ``A, B und C``: a list as the reader's language writes one."""
    language = language_of(locale)
    listed = [str(v) for v in values]
    if not listed:
        return ""
    if language is LANGUAGES[0]:
        if len(listed) <= 2:
            return " and ".join(listed)
        return ", ".join(listed[:-1]) + ", and " + listed[-1]
    from babel.lists import format_list

    return str(format_list(listed, locale=language.catalog))


def day(at: float, locale: object) -> str:
    """A calendar day in UTC (the days /reports filters by), as the reader writes dates."""
    language = language_of(locale)
    shown = datetime.fromtimestamp(at, UTC).date()
    if language is LANGUAGES[0]:
        return f"{_MONTHS[shown.month - 1]} {shown.day}, {shown.year}"
    from babel.dates import format_date

    return str(format_date(shown, format="medium", locale=language.catalog))


class Param(str):
    """A value inside a message that is written differently per language: English as a
    ``str``, and in the reader's language when the message around it is rendered. Stored
    notices keep it as ``{kind: value}`` (``bot.i18n.text.to_json``)."""

    kind: ClassVar[str]
    value: object

    @staticmethod
    def show(value: Any, locale: object) -> str:
        raise NotImplementedError

    def __new__(cls, value: Any) -> Self:
        self = super().__new__(cls, cls.show(value, None))
        self.value = value
        return self

    def render(self, locale: object) -> str:
        return self.show(self.value, locale)

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.value,))


class Duration(Param):
    """A span of time in seconds (``duration``)."""

    kind = "duration"

    @staticmethod
    def show(value: Any, locale: object) -> str:
        return duration(float(value), locale)

    @property
    def seconds(self) -> float:
        return float(self.value)  # type: ignore[arg-type]


class Ago(Param):
    """How long ago something happened, in seconds (``ago``)."""

    kind = "ago"

    @staticmethod
    def show(value: Any, locale: object) -> str:
        return ago(float(value), locale)


class Day(Param):
    """A day in UTC, as a Unix time (``day``)."""

    kind = "day"

    @staticmethod
    def show(value: Any, locale: object) -> str:
        return day(float(value), locale)


class Items(Param):
    """Names joined the reader's way ("A, B and C"). The names may themselves be messages:
    each is rendered in the same language."""

    kind = "items"

    @staticmethod
    def show(value: Any, locale: object) -> str:
        from bot.i18n.text import localize

        return items((localize(v, locale) for v in value), locale)

    def __new__(cls, value: Iterable[str]) -> Self:
        return super().__new__(cls, tuple(value))


PARAMS: dict[str, type[Param]] = {p.kind: p for p in (Duration, Ago, Day, Items)}
