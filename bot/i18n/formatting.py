"""Numbers, dates and durations in a locale's own conventions (Babel's CLDR data).

Babel's locale data is loaded on first use, per locale, never at start-up.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Literal

from bot.i18n.locales import language_of


def number(value: float, locale: object) -> str:
    from babel.numbers import format_decimal

    return str(format_decimal(value, locale=language_of(locale).catalog))


def date_time(value: datetime, locale: object) -> str:
    from babel.dates import format_datetime

    return str(format_datetime(value, format="medium", locale=language_of(locale).catalog))


_Unit = Literal["day", "hour", "minute", "second"]
_UNITS: tuple[tuple[_Unit, int], ...] = (
    ("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))


def duration(seconds: float, locale: object) -> str:
    """``1 day, 12 hours``, ``1 Tag, 12 Stunden``, ``1日12時間``: the two largest units,
    the smaller rounded up (a wait is never shown shorter than it is), never 0. Days stay
    days (CLDR would turn 10 days into "1 week")."""
    from babel.dates import format_timedelta
    from babel.lists import format_list

    code = language_of(locale).catalog
    total = max(1, math.ceil(seconds))
    big = next(i for i, (_, size) in enumerate(_UNITS) if total >= size)
    small = min(big + 1, len(_UNITS) - 1)
    rest = math.ceil(total / _UNITS[small][1]) * _UNITS[small][1]
    parts = []
    for name, size in _UNITS[big:small + 1]:
        count, rest = divmod(rest, size)
        if count:
            parts.append(str(format_timedelta(timedelta(seconds=count * size), threshold=1e9,
                                              granularity=name, locale=code)))
    return str(format_list(parts, style="unit", locale=code))


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


def ago(seconds: float, locale: object) -> str:
    """``3 hours ago``, ``vor 3 Stunden``: how long ago, in the reader's language."""
    from babel.dates import format_timedelta

    return str(format_timedelta(timedelta(seconds=-max(0.0, seconds)), add_direction=True,
                                threshold=2, locale=language_of(locale).catalog))


def items(values: Iterable[str], locale: object) -> str:
    """``A, B and C``, ``A, B und C``: a list as the reader's language writes one."""
    from babel.lists import format_list

    listed = [str(v) for v in values]
    return str(format_list(listed, locale=language_of(locale).catalog)) if listed else ""


class Ago(str):
    """How long ago something happened, as a message parameter (see ``Duration``)."""

    seconds: float

    def __new__(cls, seconds: float) -> Ago:
        self = super().__new__(cls, ago(seconds, None))
        self.seconds = seconds
        return self

    def render(self, locale: object) -> str:
        return ago(self.seconds, locale)

    def __reduce__(self) -> tuple[object, ...]:
        return (Ago, (self.seconds,))


class Items(str):
    """Names as one message parameter, joined the reader's way ("A, B and C"). The names
    themselves may be messages: each is rendered in the same language."""

    values: tuple[str, ...]

    def __new__(cls, values: Iterable[str]) -> Items:
        kept = tuple(values)
        self = super().__new__(cls, items(kept, None))
        self.values = kept
        return self

    def render(self, locale: object) -> str:
        from bot.i18n.text import localize

        return items((localize(v, locale) for v in self.values), locale)

    def __reduce__(self) -> tuple[object, ...]:
        return (Items, (self.values,))
