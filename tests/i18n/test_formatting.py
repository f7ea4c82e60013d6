"""Durations as people read them, in each language."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

import pytest

from bot.i18n import Duration, localize, t
from bot.i18n.formatting import duration
from bot.i18n.text import from_json, to_json

SPANS = [1, 25, 60, 61, 90, 3599, 3600, 5400, 86400, 129600, 10 * 86400, 28 * 86400]


@pytest.mark.parametrize("seconds", SPANS)
def test_english_without_babel_says_what_babel_says(seconds: float) -> None:
    # English is rendered without loading Babel: it must read exactly as CLDR's English.
    from babel.dates import format_timedelta
    from babel.lists import format_list

    expected = []
    rest = seconds
    units: tuple[tuple[Literal["day", "hour", "minute", "second"], int], ...] = (
        ("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))
    for unit, size in units:
        count, rest = divmod(rest, size)
        if count:
            expected.append(format_timedelta(timedelta(seconds=count * size), threshold=1e9,
                                             granularity=unit, locale="en"))
    assert duration(seconds, "en-US") == format_list(expected, style="unit", locale="en")


def test_a_wait_is_never_shown_shorter_than_it_is() -> None:
    assert duration(0.2, None) == "1 second"
    assert duration(61, None) == "1 minute, 1 second"
    assert duration(3601, None) == "1 hour, 1 minute"
    assert duration(10 * 86400, "de") == "10 Tage"  # not "1 Woche"


def test_a_duration_in_a_message_is_rendered_in_the_readers_language() -> None:
    message = t("median time to first moderator action: {span}", span=Duration(5400))
    assert str(message).endswith("1 hour, 30 minutes")
    assert "1 Stunde, 30 Minuten" in localize(message, "de")
    assert "1時間30分" in localize(message, "ja").replace(" ", "")
    # Stored (a reporter notice) and read back later, it is still a duration.
    assert "1 Stunde, 30 Minuten" in localize(from_json(to_json(message)), "de")


@pytest.mark.parametrize("locale", ["en-US", "de", "fr", "it", "es-ES", "es-419", "pt-BR", "pl",
                                    "ru", "ja", "ko", "zh-CN", "zh-TW"])
def test_two_units_in_every_language(locale: str) -> None:
    # Spanish's CLDR "unit" list pattern is incomplete in Babel: this raised KeyError.
    shown = duration(5400, locale)
    assert "1" in shown and "30" in shown
