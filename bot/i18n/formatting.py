"""Numbers, dates and durations in a locale's own conventions (Babel's CLDR data).

Babel's locale data is loaded on first use, per locale, never at start-up.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.i18n.locales import language_of


def number(value: float, locale: object) -> str:
    from babel.numbers import format_decimal

    return str(format_decimal(value, locale=language_of(locale).catalog))


def date_time(value: datetime, locale: object) -> str:
    from babel.dates import format_datetime

    return str(format_datetime(value, format="medium", locale=language_of(locale).catalog))


def duration(seconds: float, locale: object) -> str:
    """``14 minutes``, ``14 Minuten``, ``14 分钟``..."""
    from babel.dates import format_timedelta

    return str(format_timedelta(timedelta(seconds=seconds), threshold=1.0,
                                locale=language_of(locale).catalog))
