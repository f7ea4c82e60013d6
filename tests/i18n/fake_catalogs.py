"""A few translations put in place of a catalog, so a test proves the plumbing (which
language a message is rendered in) whatever the translators have done so far."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

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
