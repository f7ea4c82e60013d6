"""Localised command descriptions and choice names for discord.py's command tree.

Names stay English (one spelling in every server's docs and in Discord's name rules);
descriptions, option descriptions and choice names come from the catalogs, cut to
Discord's limits. Set with ``tree.set_translator`` in ``setup_hook`` before any sync.
"""

from __future__ import annotations

from discord import Locale, app_commands

from bot.i18n.catalogs import gettext
from bot.i18n.locales import LANGUAGES, language_of

DESCRIPTION_MAX = 100
CHOICE_NAME_MAX = 100

_NAMES = {
    app_commands.TranslationContextLocation.command_name,
    app_commands.TranslationContextLocation.group_name,
    app_commands.TranslationContextLocation.parameter_name,
}


class WardenTranslator(app_commands.Translator):
    async def translate(self, string: app_commands.locale_str, locale: Locale,
                        context: app_commands.TranslationContextTypes) -> str | None:
        return translate_command_field(string.message, locale.value, context.location)


def translate_command_field(message: str, locale: str,
                            location: app_commands.TranslationContextLocation) -> str | None:
    """The localisation Discord gets for one command field, or None (Discord shows English)."""
    if location in _NAMES:
        return None
    language = language_of(locale)
    if language is LANGUAGES[0] or language.discord.lower() != locale.lower():
        return None
    found = gettext(message, language)
    if found == message:
        return None
    return found[:DESCRIPTION_MAX]
