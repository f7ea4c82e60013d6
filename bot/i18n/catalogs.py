"""The gettext catalogs, read once per language on first use.

The ``.po`` files are the only copy (no compiled ``.mo`` to go stale): a language's catalog
is parsed with Babel the first time someone reads it, so start-up and English cost nothing.
"""

from __future__ import annotations

import threading
from pathlib import Path

from bot.i18n.locales import LANGUAGES, Language

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
DOMAIN = "warden"
TEMPLATE = LOCALES_DIR / f"{DOMAIN}.pot"

_loaded: dict[str, dict[str, str]] = {}
_lock = threading.Lock()


def catalog_path(language: Language) -> Path:
    return LOCALES_DIR / language.catalog / "LC_MESSAGES" / f"{DOMAIN}.po"


def _read(language: Language) -> dict[str, str]:
    path = catalog_path(language)
    if language is LANGUAGES[0] or not path.exists():
        return {}
    from babel.messages.pofile import read_po  # only when a translated language is read

    with path.open("rb") as handle:
        catalog = read_po(handle, locale=language.catalog)
    return {
        str(message.id): str(message.string)
        for message in catalog
        if message.id and isinstance(message.id, str) and message.string
        and not message.fuzzy
    }


def translations(language: Language) -> dict[str, str]:
    """msgid -> translation for ``language`` (empty for English)."""
    found = _loaded.get(language.catalog)
    if found is None:
        with _lock:
            found = _loaded.get(language.catalog)
            if found is None:
                found = _loaded[language.catalog] = _read(language)
    return found


def gettext(msgid: str, language: Language) -> str:
    return translations(language).get(msgid) or msgid
