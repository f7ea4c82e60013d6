"""Warden in its players' languages.

Services never know a locale: they return :class:`Text` values (a message id, the English
source, plus its parameters) that read as English wherever a plain ``str`` is expected. The
Discord side renders them with :func:`localize` in the locale of whoever reads them (the
member's ``interaction.locale``, their last seen locale for DMs, the server's language for
staff posts). Catalogs are gettext ``.po`` files maintained with Babel and parsed lazily, once
per language, on first use.
"""

from __future__ import annotations

from bot.i18n.formatting import Duration
from bot.i18n.locales import DEFAULT_LOCALE, LANGUAGES, Language, language_of, resolve
from bot.i18n.text import Text, joined, localize, t

__all__ = [
    "DEFAULT_LOCALE",
    "LANGUAGES",
    "Duration",
    "Language",
    "Text",
    "joined",
    "language_of",
    "localize",
    "resolve",
    "t",
]
