"""Messages as values: an id (the English source) and parameters, rendered per locale.

``t("Report #{number} confirmed", number=7)`` is a :class:`Text`: a ``str`` whose value is
the English rendering, so code and logs that want a string keep working, and which
:func:`localize` renders in any language. Parameters may themselves be ``Text`` (rendered in
the same language). ``joined`` keeps a message built from parts translatable.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from bot.i18n.catalogs import gettext
from bot.i18n.formatting import Duration
from bot.i18n.locales import Language, language_of


class Text(str):
    """A translatable message. Its ``str`` value is English."""

    msgid: str
    params: Mapping[str, object]
    parts: tuple[object, ...] | None
    sep: str

    def __new__(cls, msgid: str, params: Mapping[str, object] | None = None, *,
                parts: tuple[object, ...] | None = None, sep: str = "") -> Text:
        params = dict(params or {})
        english = (sep.join(str(p) for p in parts) if parts is not None
                   else _format(msgid, params, None))
        self = super().__new__(cls, english)
        self.msgid = msgid
        self.params = params
        self.parts = parts
        self.sep = sep
        return self

    def render(self, language: Language) -> str:
        if self.parts is not None:
            return self.sep.join(_render(p, language) for p in self.parts)
        try:
            return _format(gettext(self.msgid, language), self.params, language)
        except (KeyError, IndexError, ValueError):
            # A broken translation must never hide the message: the source instead.
            return _format(self.msgid, self.params, language)

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (self.msgid, dict(self.params), self.parts, self.sep))


def _rebuild(msgid: str, params: dict[str, object], parts: tuple[object, ...] | None,
             sep: str) -> Text:
    return Text(msgid, params, parts=parts, sep=sep)


def _render(value: object, language: Language | None) -> str:
    if isinstance(value, Text):
        return value.render(language) if language is not None else str.__str__(value)
    if isinstance(value, Duration):
        return value.render(language.discord) if language is not None else str.__str__(value)
    return str(value)


def _format(pattern: str, params: Mapping[str, object], language: Language | None) -> str:
    if not params:
        return pattern
    return pattern.format_map({k: _render(v, language) for k, v in params.items()})


def t(msgid: str, **params: object) -> Text:
    """Mark ``msgid`` (English, ``{name}`` placeholders) for translation."""
    return Text(msgid, params)


def joined(sep: str, parts: Iterable[object]) -> Text:
    """``sep.join(parts)`` that stays translatable part by part."""
    return Text("", parts=tuple(parts), sep=sep)


def localize(value: str | None, locale: object) -> str:
    """``value`` in the language of ``locale``; plain strings come back unchanged."""
    if value is None:
        return ""
    if isinstance(value, Text):
        return value.render(language_of(locale))
    return value


def to_json(value: str) -> object:
    """``value`` as JSON data that :func:`from_json` turns back into the same message, so a
    message stored now is rendered later in the language of whoever reads it then."""
    if not isinstance(value, Text):
        return value
    data: dict[str, object] = {"id": value.msgid,
                               "params": {k: _param_json(v) for k, v in value.params.items()}}
    if value.parts is not None:
        data["parts"] = [_param_json(p) for p in value.parts]
        data["sep"] = value.sep
    return data


def _param_json(value: object) -> object:
    if isinstance(value, Text):
        return to_json(value)
    if isinstance(value, Duration):
        return {"duration": value.seconds}
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    return str(value)


def from_json(data: object) -> str:
    """The message :func:`to_json` stored (a plain string stays one)."""
    if not isinstance(data, dict):
        return str(data)
    if set(data) == {"duration"}:
        return Duration(float(data["duration"]))
    params = {str(k): _param_from_json(v) for k, v in dict(data.get("params") or {}).items()}
    parts = data.get("parts")
    return Text(str(data.get("id", "")), params,
                parts=tuple(_param_from_json(p) for p in parts) if isinstance(parts, list)
                else None, sep=str(data.get("sep", "")))


def _param_from_json(value: object) -> object:
    return from_json(value) if isinstance(value, dict) else value
