"""Discord's documented limits, checked so a bot that would get 400 in production gets
400 here too (``50035 Invalid Form Body`` with the field path)."""

from __future__ import annotations

import re
from typing import Any

from .errors import DiscordAPIError, form_error
from .models import FLAG_IS_COMPONENTS_V2, JSON, iter_components

_SLASH_NAME = re.compile(r"^[-_'\w]{1,32}$")


def _max_len(path: str, value: Any, limit: int) -> None:
    if value is not None and len(str(value)) > limit:
        raise form_error(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")


def _length_range(path: str, value: Any, low: int, high: int) -> None:
    n = len(str(value)) if value is not None else 0
    if not low <= n <= high:
        raise form_error(
            path, "BASE_TYPE_BAD_LENGTH", f"Must be between {low} and {high} in length."
        )


def validate_embeds(embeds: list[JSON], prefix: str = "embeds") -> None:
    if len(embeds) > 10:
        raise form_error(prefix, "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.")
    total = 0
    for i, embed in enumerate(embeds):
        p = f"{prefix}.{i}"
        _max_len(f"{p}.title", embed.get("title"), 256)
        _max_len(f"{p}.description", embed.get("description"), 4096)
        fields = embed.get("fields") or []
        if len(fields) > 25:
            raise form_error(
                f"{p}.fields", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."
            )
        for j, fld in enumerate(fields):
            _length_range(f"{p}.fields.{j}.name", fld.get("name"), 1, 256)
            _length_range(f"{p}.fields.{j}.value", fld.get("value"), 1, 1024)
            total += len(str(fld.get("name", ""))) + len(str(fld.get("value", "")))
        footer = embed.get("footer") or {}
        author = embed.get("author") or {}
        _max_len(f"{p}.footer.text", footer.get("text"), 2048)
        _max_len(f"{p}.author.name", author.get("name"), 256)
        total += sum(
            len(str(x or ""))
            for x in (
                embed.get("title"),
                embed.get("description"),
                footer.get("text"),
                author.get("name"),
            )
        )
    if total > 6000:
        raise form_error(
            prefix, "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000"
        )


def validate_components(components: list[JSON], flags: int, prefix: str = "components") -> None:
    v2 = bool(flags & FLAG_IS_COMPONENTS_V2)
    if not v2 and len(components) > 5:
        raise form_error(prefix, "BASE_TYPE_MAX_LENGTH", "Must be 5 or fewer in length.")
    for i, row in enumerate(components):
        if not v2 and row.get("type") != 1:
            raise form_error(
                f"{prefix}.{i}.type",
                "UNION_TYPE_CHOICES",
                "Top-level components must be action rows unless IS_COMPONENTS_V2 is set",
            )
        if row.get("type") == 1 and len(row.get("components") or []) > 5:
            raise form_error(
                f"{prefix}.{i}.components", "BASE_TYPE_MAX_LENGTH", "Must be 5 or fewer in length."
            )
    seen: set[str] = set()
    for comp in iter_components(components):
        cid = comp.get("custom_id")
        if cid is not None:
            _length_range(f"{prefix}.custom_id", cid, 1, 100)
            if cid in seen:
                raise form_error(
                    f"{prefix}.custom_id",
                    "COMPONENT_CUSTOM_ID_DUPLICATED",
                    f"Component custom id cannot be duplicated: {cid}",
                )
            seen.add(cid)
        if comp.get("type") == 2:
            _max_len(f"{prefix}.label", comp.get("label"), 80)
            if comp.get("style") == 5 and not comp.get("url"):
                raise form_error(f"{prefix}.url", "BASE_TYPE_REQUIRED", "Link buttons need a url")
            if comp.get("style") not in (5, 6) and cid is None:
                raise form_error(
                    f"{prefix}.custom_id", "BASE_TYPE_REQUIRED", "This field is required"
                )
        if comp.get("type") == 3:
            options = comp.get("options") or []
            if not 1 <= len(options) <= 25:
                raise form_error(
                    f"{prefix}.options",
                    "BASE_TYPE_BAD_LENGTH",
                    "Must be between 1 and 25 in length.",
                )
        if comp.get("type") == 10:
            _max_len(f"{prefix}.content", comp.get("content"), 4000)


def validate_message(payload: JSON, *, has_files: bool, is_edit: bool = False) -> None:
    """Raise :class:`DiscordAPIError` where Discord would reject this message body."""
    content = payload.get("content")
    flags = int(payload.get("flags") or 0)
    v2 = bool(flags & FLAG_IS_COMPONENTS_V2)
    _max_len("content", content, 2000)
    embeds = payload.get("embeds") or []
    validate_embeds(embeds)
    components = payload.get("components") or []
    validate_components(components, flags)
    if v2 and (content or embeds):
        raise form_error(
            "content",
            "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
            "The 'content' and 'embeds' fields cannot be used when IS_COMPONENTS_V2 is set",
        )
    if not is_edit and not (
        content
        or embeds
        or components
        or has_files
        or payload.get("sticker_ids")
        or payload.get("poll")
        or payload.get("attachments")
    ):
        raise DiscordAPIError(400, 50006, "Cannot send an empty message")


def validate_modal(data: JSON) -> None:
    _length_range("data.title", data.get("title"), 1, 45)
    _length_range("data.custom_id", data.get("custom_id"), 1, 100)
    components = data.get("components") or []
    if not 1 <= len(components) <= 5:
        raise form_error(
            "data.components", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5 in length."
        )
    for comp in iter_components(components):
        if comp.get("type") == 4:
            _max_len("data.components.label", comp.get("label"), 45)
            max_length = comp.get("max_length")
            if max_length is not None and not 1 <= int(max_length) <= 4000:
                raise form_error(
                    "data.components.max_length",
                    "NUMBER_TYPE_MAX",
                    "int value should be less than or equal to 4000.",
                )
            _max_len("data.components.value", comp.get("value"), 4000)
        if comp.get("type") == 18:
            _length_range("data.components.label", comp.get("label"), 1, 45)
            _max_len("data.components.description", comp.get("description"), 100)
        if "custom_id" in comp:
            _length_range("data.components.custom_id", comp["custom_id"], 1, 100)


def validate_autocomplete(data: JSON) -> None:
    choices = data.get("choices")
    if not isinstance(choices, list):
        raise form_error("data.choices", "BASE_TYPE_REQUIRED", "This field is required")
    if len(choices) > 25:
        raise form_error("data.choices", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
    for i, choice in enumerate(choices):
        _length_range(f"data.choices.{i}.name", choice.get("name"), 1, 100)
        value = choice.get("value")
        if isinstance(value, str):
            _length_range(f"data.choices.{i}.value", value, 1, 100)


def _validate_option(path: str, opt: JSON) -> None:
    name = str(opt.get("name", ""))
    if not _SLASH_NAME.match(name) or name != name.lower():
        raise form_error(
            f"{path}.name",
            "APPLICATION_COMMAND_INVALID_NAME",
            f"Command name is invalid: {name!r} (1-32 chars, lowercase)",
        )
    _length_range(f"{path}.description", opt.get("description"), 1, 100)
    choices = opt.get("choices") or []
    if len(choices) > 25:
        raise form_error(
            f"{path}.choices", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."
        )
    if choices and opt.get("autocomplete"):
        raise form_error(
            f"{path}.autocomplete",
            "APPLICATION_COMMAND_OPTION_AUTOCOMPLETE_AND_CHOICES",
            "Autocomplete cannot be set with choices",
        )
    sub = opt.get("options") or []
    if len(sub) > 25:
        raise form_error(
            f"{path}.options", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."
        )
    required_seen_optional = False
    for i, child in enumerate(sub):
        if opt.get("type") not in (1, 2) and child.get("type") in (1, 2):
            raise form_error(
                f"{path}.options.{i}",
                "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                "Sub-commands must be inside a command or group",
            )
        if child.get("type") not in (1, 2):
            if child.get("required") and required_seen_optional:
                raise form_error(
                    f"{path}.options.{i}.required",
                    "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                    "Required options must be placed before non-required options",
                )
            if not child.get("required"):
                required_seen_optional = True
        _validate_option(f"{path}.options.{i}", child)


def validate_commands(commands: list[JSON]) -> None:
    """Check a bulk-overwrite body the way Discord does (names, lengths, counts)."""
    counts = {1: 0, 2: 0, 3: 0}
    seen: set[tuple[int, str]] = set()
    for i, cmd in enumerate(commands):
        ctype = int(cmd.get("type", 1))
        name = str(cmd.get("name", ""))
        counts[ctype] = counts.get(ctype, 0) + 1
        if (ctype, name) in seen:
            raise form_error(
                f"{i}.name",
                "APPLICATION_COMMANDS_DUPLICATE_NAME",
                f"Application command names must be unique: {name}",
            )
        seen.add((ctype, name))
        if ctype == 1:
            _validate_option(str(i), cmd)
        else:
            _length_range(f"{i}.name", name, 1, 32)
            if cmd.get("description"):
                raise form_error(
                    f"{i}.description",
                    "APPLICATION_COMMAND_CONTEXT_MENU_DESCRIPTION",
                    "Context menu commands cannot have a description",
                )
    limits = {1: 100, 2: 15, 3: 15}
    for ctype, limit in limits.items():
        if counts.get(ctype, 0) > limit:
            raise DiscordAPIError(
                400, 30032, f"Maximum number of application commands reached ({limit})"
            )
