"""The languages Warden speaks: Destiny 2's thirteen, on Discord's locales.

Adding a language is one line here and one catalog in ``locales/<catalog>/LC_MESSAGES``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Language:
    discord: str
    """Discord's locale code (``interaction.locale``, ``guild.preferred_locale``)."""
    catalog: str
    """The gettext/Babel locale of its catalog directory."""
    bungie: str
    """The language Bungie serves its manifest in."""
    name: str
    """The language's own name, for ``/warden setup``."""


LANGUAGES: tuple[Language, ...] = (
    Language("en-US", "en", "en", "English"),
    Language("de", "de", "de", "Deutsch"),
    Language("fr", "fr", "fr", "Français"),
    Language("it", "it", "it", "Italiano"),
    Language("es-ES", "es_ES", "es", "Español (España)"),
    Language("es-419", "es_419", "es-mx", "Español (Latinoamérica)"),
    Language("pt-BR", "pt_BR", "pt-br", "Português (Brasil)"),
    Language("pl", "pl", "pl", "Polski"),
    Language("ru", "ru", "ru", "Русский"),
    Language("ja", "ja", "ja", "日本語"),
    Language("ko", "ko", "ko", "한국어"),
    Language("zh-CN", "zh_CN", "zh-chs", "简体中文"),
    Language("zh-TW", "zh_TW", "zh-cht", "繁體中文"),
)

DEFAULT_LOCALE = "en-US"
"""English is the source language and the fallback for every other locale."""

_BY_CODE: dict[str, Language] = {lang.discord.lower(): lang for lang in LANGUAGES}
_BY_CODE.update({lang.catalog.lower().replace("_", "-"): lang for lang in LANGUAGES})
_BY_CODE.update({lang.bungie.lower(): lang for lang in LANGUAGES})
# Discord's other English, and the languages it falls back itself (BRIEF section 5).
_BY_CODE["en-gb"] = LANGUAGES[0]
_BY_CODE["en"] = LANGUAGES[0]
_BY_CODE["es"] = _BY_CODE["es-es"]
_BY_CODE["pt"] = _BY_CODE["pt-br"]
_BY_CODE["zh"] = _BY_CODE["zh-cn"]


def language_of(locale: object) -> Language:
    """The language for a Discord locale (a ``discord.Locale``, its value, an
    Accept-Language tag or a Bungie language); English for anything else."""
    code = str(getattr(locale, "value", locale) or "").strip().lower().replace("_", "-")
    found = _BY_CODE.get(code)
    if found is None and "-" in code:
        found = _BY_CODE.get(code.split("-", 1)[0])
    return found or LANGUAGES[0]


def resolve(locale: object) -> str:
    """The Discord locale code Warden uses for ``locale`` (English when unknown)."""
    return language_of(locale).discord


def accept_language(header: str) -> str | None:
    """The best language Warden has for an HTTP ``Accept-Language`` header, by weight;
    None when it names none of them."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                continue
        if tag and tag != "*":
            ranked.append((-weight, index, tag))
    for _weight, _index, tag in sorted(ranked):
        code = tag.strip().lower()
        if code in _BY_CODE or code.split("-", 1)[0] in _BY_CODE:
            return language_of(code).discord
    return None
