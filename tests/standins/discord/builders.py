"""Building INTERACTION_CREATE payloads the way Discord's client would: typed options
with ``resolved`` data, context-menu targets, component clicks and modal submits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import permissions as P
from .errors import InvalidInteraction
from .models import (
    JSON,
    Channel,
    Guild,
    Member,
    RecordedAttachment,
    RecordedMessage,
    Role,
    Upload,
    User,
)
from .state import StandInState

# Application command option types
SUB_COMMAND = 1
SUB_COMMAND_GROUP = 2
STRING = 3
INTEGER = 4
BOOLEAN = 5
USER = 6
CHANNEL = 7
ROLE = 8
MENTIONABLE = 9
NUMBER = 10
ATTACHMENT = 11

OPTION_TYPE_NAMES = {
    1: "subcommand",
    2: "subcommand group",
    3: "string",
    4: "integer",
    5: "boolean",
    6: "user",
    7: "channel",
    8: "role",
    9: "mentionable",
    10: "number",
    11: "attachment",
}

ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024


@dataclass
class Actor:
    """Who performs an interaction and where."""

    user: User
    member: Member | None
    guild: Guild | None
    channel: Channel

    def describe(self) -> str:
        where = f"#{self.channel.name} in {self.guild.name!r}" if self.guild else "DMs"
        return f"{self.user.username} ({where})"


@dataclass
class Resolver:
    """Collects the ``resolved`` block of an interaction."""

    state: StandInState
    actor: Actor
    users: dict[str, JSON] = field(default_factory=dict)
    members: dict[str, JSON] = field(default_factory=dict)
    roles: dict[str, JSON] = field(default_factory=dict)
    channels: dict[str, JSON] = field(default_factory=dict)
    attachments: dict[str, JSON] = field(default_factory=dict)
    messages: dict[str, JSON] = field(default_factory=dict)

    def user(self, value: Any) -> str:
        user_id = _id_of(value)
        user = self.state.users.get(user_id)
        if user is None:
            raise InvalidInteraction(f"no user with id {user_id} exists in the stand-in")
        self.users[str(user_id)] = user.to_payload()
        guild = self.actor.guild
        member = guild.members.get(user_id) if guild is not None else None
        if member is not None and guild is not None:
            perms = P.channel_permissions(guild, user_id, self.actor.channel)
            self.members[str(user_id)] = member.to_payload(with_user=False, permissions=perms)
        return str(user_id)

    def role(self, value: Any) -> str:
        guild = self.actor.guild
        role_id = _id_of(value)
        if guild is None or role_id not in guild.roles:
            raise InvalidInteraction(f"role {role_id} is not a role of the interaction's guild")
        self.roles[str(role_id)] = guild.roles[role_id].to_payload()
        return str(role_id)

    def channel(self, value: Any) -> str:
        channel_id = _id_of(value)
        channel = self.state.channels.get(channel_id)
        if channel is None:
            raise InvalidInteraction(f"no channel with id {channel_id}")
        data: JSON = {
            "id": str(channel.id),
            "type": channel.type,
            "name": channel.name,
            "parent_id": str(channel.parent_id) if channel.parent_id else None,
            "permissions": str(self._perms_in(channel)),
        }
        self.channels[str(channel_id)] = data
        return str(channel_id)

    def attachment(self, value: Any) -> str:
        if isinstance(value, tuple) and len(value) == 2:
            value = Upload(str(value[0]), bytes(value[1]))
        if isinstance(value, Upload):
            att = self.state.store_attachment(value, ephemeral=True)
        elif isinstance(value, RecordedAttachment):
            att = value
        else:
            raise InvalidInteraction(
                f"attachment values must be Upload(filename, data), got {value!r}"
            )
        self.attachments[str(att.id)] = att.to_payload()
        return str(att.id)

    def message(self, message: RecordedMessage) -> str:
        payload = message.to_payload(self.state.users.get(message.author_id))
        self.messages[str(message.id)] = payload
        return str(message.id)

    def _perms_in(self, channel: Channel) -> int:
        guild = self.actor.guild
        if guild is None or channel.guild_id != guild.id:
            return 0
        return P.channel_permissions(guild, self.actor.user.id, channel)

    def to_payload(self) -> JSON:
        out: JSON = {}
        for key in ("users", "members", "roles", "channels", "attachments", "messages"):
            value = getattr(self, key)
            if value:
                out[key] = value
        return out


def _id_of(value: Any) -> int:
    if isinstance(value, (User, Member, Role, Channel, RecordedMessage, RecordedAttachment)):
        return value.id
    if isinstance(value, bool):
        raise InvalidInteraction(f"expected an id or a stand-in object, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise InvalidInteraction(f"expected an id or a stand-in object, got {value!r}")


def infer_option_type(value: Any) -> int:
    """Option type for a value when no command schema is known."""
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, int):
        return INTEGER
    if isinstance(value, float):
        return NUMBER
    if isinstance(value, str):
        return STRING
    if isinstance(value, (Member, User)):
        return USER
    if isinstance(value, Role):
        return ROLE
    if isinstance(value, Channel):
        return CHANNEL
    if isinstance(value, (Upload, RecordedAttachment, tuple)):
        return ATTACHMENT
    raise InvalidInteraction(
        f"cannot tell which option type {value!r} is; sync the commands first "
        "or pass a stand-in object / Upload"
    )


def _convert(opt_type: int, name: str, value: Any, resolver: Resolver, *, focused: bool) -> Any:
    if focused:
        return value if isinstance(value, str) else str(value)
    if opt_type == STRING:
        if not isinstance(value, str):
            raise InvalidInteraction(f"option {name!r} is a string option, got {value!r}")
        return value
    if opt_type == INTEGER:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidInteraction(f"option {name!r} is an integer option, got {value!r}")
        return value
    if opt_type == NUMBER:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidInteraction(f"option {name!r} is a number option, got {value!r}")
        return value
    if opt_type == BOOLEAN:
        if not isinstance(value, bool):
            raise InvalidInteraction(f"option {name!r} is a boolean option, got {value!r}")
        return value
    if opt_type == USER:
        return resolver.user(value)
    if opt_type == CHANNEL:
        return resolver.channel(value)
    if opt_type == ROLE:
        return resolver.role(value)
    if opt_type == MENTIONABLE:
        return resolver.role(value) if isinstance(value, Role) else resolver.user(value)
    if opt_type == ATTACHMENT:
        return resolver.attachment(value)
    raise InvalidInteraction(f"unsupported option type {opt_type} for {name!r}")


def _check_against_schema(spec: JSON, value: Any, name: str) -> None:
    choices = spec.get("choices") or []
    if choices and value not in [c.get("value") for c in choices]:
        raise InvalidInteraction(
            f"option {name!r} only accepts its choices {[c.get('value') for c in choices]}, "
            f"got {value!r}"
        )
    opt_type = int(spec.get("type", STRING))
    if opt_type in (INTEGER, NUMBER):
        low, high = spec.get("min_value"), spec.get("max_value")
        if (low is not None and value < low) or (high is not None and value > high):
            raise InvalidInteraction(
                f"option {name!r} must be within [{low}, {high}], got {value!r}"
            )
    if opt_type == STRING:
        low, high = spec.get("min_length"), spec.get("max_length")
        if (low is not None and len(value) < int(low)) or (
            high is not None and len(value) > int(high)
        ):
            raise InvalidInteraction(
                f"option {name!r} length must be within [{low}, {high}], "
                f"got {len(value)} characters"
            )


def build_leaf_options(
    schema_options: list[JSON] | None,
    values: dict[str, Any],
    resolver: Resolver,
    *,
    command: str,
    focused: str | None = None,
) -> list[JSON]:
    """Options of the command (or subcommand) that runs, typed per the schema when known."""
    out: list[JSON] = []
    if schema_options is None:
        for name, value in values.items():
            opt_type = infer_option_type(value)
            out.append(
                _option(
                    opt_type,
                    name,
                    _convert(opt_type, name, value, resolver, focused=name == focused),
                    name == focused,
                )
            )
        return out
    specs = {str(o["name"]): o for o in schema_options if int(o.get("type", 0)) not in (1, 2)}
    unknown = [n for n in values if n not in specs]
    if unknown:
        raise InvalidInteraction(
            f"{command} has no option(s) {unknown}; its options are {sorted(specs)}"
        )
    if focused is not None:
        spec = specs.get(focused)
        if spec is None or not spec.get("autocomplete"):
            raise InvalidInteraction(f"option {focused!r} of {command} has no autocomplete")
    for name, spec in specs.items():
        if name not in values:
            if spec.get("required") and focused is None:
                raise InvalidInteraction(
                    f"{command} requires option {name!r} "
                    f"({OPTION_TYPE_NAMES.get(int(spec['type']), '?')})"
                )
            continue
        opt_type = int(spec["type"])
        is_focused = name == focused
        value = _convert(opt_type, name, values[name], resolver, focused=is_focused)
        if not is_focused and opt_type in (STRING, INTEGER, NUMBER):
            _check_against_schema(spec, value, name)
        out.append(_option(opt_type, name, value, is_focused))
    return out


def _option(opt_type: int, name: str, value: Any, focused: bool) -> JSON:
    data: JSON = {"type": opt_type, "name": name, "value": value}
    if focused:
        data["focused"] = True
    return data


def build_command_options(
    schema: JSON | None,
    path: list[str],
    values: dict[str, Any],
    resolver: Resolver,
    *,
    focused: str | None = None,
) -> list[JSON]:
    """Nest leaf options under subcommand group / subcommand as Discord does.

    ``path`` is ``[command]``, ``[command, subcommand]`` or ``[command, group, subcommand]``.
    """
    label = "/" + " ".join(path)
    if schema is None:
        leaf = build_leaf_options(None, values, resolver, command=label, focused=focused)
        types = [SUB_COMMAND_GROUP, SUB_COMMAND][-(len(path) - 1) :] if len(path) > 1 else []
    else:
        options: list[JSON] = schema.get("options") or []
        types = []
        for sub in path[1:]:
            match = next(
                (o for o in options if o.get("name") == sub and int(o.get("type", 0)) in (1, 2)),
                None,
            )
            if match is None:
                subs = [o["name"] for o in options if int(o.get("type", 0)) in (1, 2)]
                raise InvalidInteraction(
                    f"/{path[0]} has no subcommand or group {sub!r}; it has {subs}"
                )
            types.append(int(match["type"]))
            options = match.get("options") or []
        if any(int(o.get("type", 0)) in (1, 2) for o in options):
            subs = [o["name"] for o in options if int(o.get("type", 0)) in (1, 2)]
            raise InvalidInteraction(f"{label} needs a subcommand: one of {subs}")
        leaf = build_leaf_options(options, values, resolver, command=label, focused=focused)
    nested = leaf
    for sub, sub_type in reversed(list(zip(path[1:], types, strict=True))):
        nested = [{"type": sub_type, "name": sub, "options": nested}]
    return nested


# --- components --------------------------------------------------------------------
def build_select_values(component: JSON, values: list[Any], resolver: Resolver) -> list[str]:
    """Validate select values like Discord's client and resolve entity selects."""
    ctype = int(component.get("type", 3))
    low = int(component.get("min_values", 1) if component.get("min_values") is not None else 1)
    high = int(component.get("max_values", 1) if component.get("max_values") is not None else 1)
    cid = component.get("custom_id")
    if not low <= len(values) <= high:
        raise InvalidInteraction(f"select {cid!r} takes {low}..{high} values, got {len(values)}")
    if ctype == 3:
        allowed = [str(o.get("value")) for o in component.get("options") or []]
        bad = [v for v in values if str(v) not in allowed]
        if bad:
            raise InvalidInteraction(
                f"select {cid!r} has no option(s) {bad}; options are {allowed}"
            )
        return [str(v) for v in values]
    out: list[str] = []
    for value in values:
        if ctype == 5:
            out.append(resolver.user(value))
        elif ctype == 6:
            out.append(resolver.role(value))
        elif ctype == 7:
            out.append(resolver.role(value) if isinstance(value, Role) else resolver.user(value))
        elif ctype == 8:
            out.append(resolver.channel(value))
        else:
            out.append(str(value))
    return out


def build_modal_components(
    components: list[JSON], values: dict[str, Any], resolver: Resolver
) -> list[JSON]:
    """The ``data.components`` of a MODAL_SUBMIT for the modal the bot showed.

    Text inputs take ``str``; selects, checkbox groups take ``list``; a radio group
    takes ``str``; a checkbox takes ``bool``; a file upload takes ``list[Upload]``.
    Inputs not in ``values`` submit their default (``value``/``default`` of the
    component), and a required input left empty fails like Discord's client would.
    """
    remaining = set(values)
    counter = [0]

    def next_id(comp: JSON) -> int:
        counter[0] += 1
        return int(comp.get("id") or counter[0])

    def convert(comp: JSON) -> JSON:
        ctype = int(comp.get("type", 0))
        if ctype == 1:
            return {
                "type": 1,
                "id": next_id(comp),
                "components": [convert(c) for c in comp.get("components", [])],
            }
        if ctype == 18:
            return {"type": 18, "id": next_id(comp), "component": convert(comp["component"])}
        if ctype == 10:
            return {"type": 10, "id": next_id(comp), "content": comp.get("content", "")}
        cid = comp.get("custom_id")
        out: JSON = {"type": ctype, "id": next_id(comp)}
        if cid is None:
            return out
        out["custom_id"] = cid
        given = cid in values
        remaining.discard(cid)
        value: Any = values.get(cid)
        required = comp.get("required", True)
        if ctype == 4:
            text = str(value) if given and value is not None else str(comp.get("value") or "")
            if required and not text:
                raise InvalidInteraction(
                    f"modal input {cid!r} is required; pass values={{{cid!r}: ...}}"
                )
            low, high = comp.get("min_length"), comp.get("max_length")
            if text and (
                (low is not None and len(text) < int(low))
                or (high is not None and len(text) > int(high))
            ):
                raise InvalidInteraction(
                    f"modal input {cid!r} must be {low}..{high} characters, got {len(text)}"
                )
            out["value"] = text
        elif ctype in (3, 5, 6, 7, 8):
            items = list(value) if given else _select_defaults(comp)
            if not items and comp.get("required", True) is False:
                out["values"] = []
            else:
                out["values"] = build_select_values(comp, items, resolver)
        elif ctype == 19:
            uploads = list(value) if given else []
            low = int(comp.get("min_values") or (1 if required else 0))
            high = int(comp.get("max_values") or 1)
            if not low <= len(uploads) <= high:
                raise InvalidInteraction(
                    f"file upload {cid!r} takes {low}..{high} files, got {len(uploads)}"
                )
            out["values"] = [resolver.attachment(u) for u in uploads]
        elif ctype == 21:
            choice = (
                value
                if given
                else next(
                    (o.get("value") for o in comp.get("options", []) if o.get("default")), None
                )
            )
            if choice is None and required:
                raise InvalidInteraction(f"radio group {cid!r} is required")
            out["value"] = choice
        elif ctype == 22:
            out["values"] = (
                list(value)
                if given
                else [o.get("value") for o in comp.get("options", []) if o.get("default")]
            )
        elif ctype == 23:
            out["value"] = bool(value) if given else bool(comp.get("default", False))
        return out

    result = [convert(c) for c in components]
    if remaining:
        inputs = [c for c in _walk_custom_ids(components)]
        raise InvalidInteraction(
            f"the modal has no input(s) {sorted(remaining)}; its inputs are {inputs}"
        )
    return result


def _select_defaults(comp: JSON) -> list[Any]:
    if int(comp.get("type", 3)) == 3:
        return [o.get("value") for o in comp.get("options", []) if o.get("default")]
    return [d.get("id") for d in comp.get("default_values", []) or []]


def _walk_custom_ids(components: list[JSON]) -> list[str]:
    from .models import iter_components

    return [str(c["custom_id"]) for c in iter_components(components) if "custom_id" in c]


def find_component(message: RecordedMessage, custom_id: str) -> JSON:
    comp = message.component(custom_id)
    if comp is None:
        raise InvalidInteraction(
            f"message {message.id} has no component with custom_id {custom_id!r}; "
            f"its custom_ids are {message.custom_ids}"
        )
    if comp.get("disabled"):
        raise InvalidInteraction(
            f"component {custom_id!r} on message {message.id} is disabled; "
            "Discord's client cannot click it"
        )
    return comp
