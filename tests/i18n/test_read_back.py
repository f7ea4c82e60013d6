"""A live reply read back after a crash is recognised as showing the outcome whatever
language the member saw it in, so a German member is not DMed the outcome again."""

from __future__ import annotations

from bot.i18n import language_of
from bot.services.reporting.text import STILL_GOING, _confirmed, shows_final_outcome


def test_a_final_outcome_is_recognised_in_every_language() -> None:
    german = language_of("de")
    shown = f"{_confirmed(7).render(german)}\n**Bungie.net:** zugestellt."
    assert shown != f"{_confirmed(7)}\n**Bungie.net:** zugestellt."  # really German
    assert shows_final_outcome(shown, 7)
    assert not shows_final_outcome(shown, 8)
    assert not shows_final_outcome(shown + "\n" + STILL_GOING.render(german), 7)
