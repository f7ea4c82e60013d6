"""A few translations put in place of a catalog, so a test proves the plumbing (which
language a message is rendered in) whatever the translators have done so far."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager

from bot.i18n import language_of
from bot.i18n.catalogs import _loaded


@contextmanager
def translated(locale: str, messages: Mapping[str, str]) -> Iterator[None]:
    catalog = language_of(locale).catalog
    before = _loaded.get(catalog)
    _loaded[catalog] = dict(messages)
    try:
        yield
    finally:
        if before is None:
            _loaded.pop(catalog, None)
        else:
            _loaded[catalog] = before


_KEPT = re.compile(r"(\{[^{}]*\}|`[^`]*`|<[^<>]*>|\]\([^)]*\)|https?://\S+)")
_WORD = re.compile(r"[A-Za-z]+")
_ROT13 = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
                       "NOPQRSTUVWXYZABCDEFGHIJKLMnopqrstuvwxyzabcdefghijklm")


def pseudo_translation(msgid: str) -> str:
    """``msgid`` with every word outside its placeholders, code spans, mentions and link
    targets made unrecognisable (``Report #{number}`` -> ``ßErcbeg #{number}``), so any
    English left in a rendered message came from somewhere the catalogs cannot reach."""
    return "".join(
        part if _KEPT.fullmatch(part) else
        _WORD.sub(lambda m: "ß" + m.group(0).translate(_ROT13), part)
        for part in _KEPT.split(msgid))


@contextmanager
def pseudo_translated(*locales: str) -> Iterator[None]:
    """Every message of the template translated (``pseudo_translation``) for ``locales``."""
    from babel.messages.pofile import read_po

    from bot.i18n.catalogs import TEMPLATE

    with TEMPLATE.open("rb") as handle:
        ids = [str(m.id) for m in read_po(handle) if m.id]
    messages = {msgid: pseudo_translation(msgid) for msgid in ids}
    with ExitStack() as stack:
        for locale in locales:
            stack.enter_context(translated(locale, messages))
        yield
