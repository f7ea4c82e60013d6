"""A ``ReviewCard`` laid out as one Discord embed with its moderator buttons.

Everything a member wrote is shown inside an embed (mentions there never ping) and
trimmed to Discord's limits: 4096 characters of description, 1024 per field and
6000 for the whole embed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

import discord

from bot.domain import UNDECIDED_CASE_STATUSES, CaseStatus
from bot.i18n import localize, t
from bot.services.review.card import (
    DeliveryView,
    EvidenceView,
    ReviewAction,
    ReviewCard,
)

STATUS_COLOURS: dict[str, discord.Colour] = {
    CaseStatus.OPEN: discord.Colour.orange(),
    CaseStatus.CLAIMED: discord.Colour.blue(),
    CaseStatus.RESOLVED: discord.Colour.green(),
    CaseStatus.DISMISSED: discord.Colour.light_grey(),
}
DESCRIPTION_MAX = 1500
EMBED_MAX = 6000
FIELD_MAX = 1024
_LINK_SPECIAL = re.compile(r"([\\\[\]()*_~`|])")
_MARKDOWN = re.compile(r"([\\\[\]()*_~`|>#-])")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _plain(text: str) -> str:
    """Member-written text shown as typed: every markdown character escaped, so a masked
    link ``[text](https://evil)`` shows its address and no styling disguises anything.
    (discord.py's ``escape_markdown`` leaves a second masked link on a line intact.)"""
    return _MARKDOWN.sub(r"\\\1", text)


def _quote(text: str, limit: int) -> str:
    return "\n".join("> " + _plain(line) for line in _cut(text, limit).splitlines() or [""])


def _link_text(text: str) -> str:
    """Text for ``[text](url)``, on one line, with what could end the link or restyle it
    escaped (brackets, parentheses, backslashes, emphasis), so a name chosen by a player
    (a Bungie name, a file name) cannot close the link and open one of its own."""
    return _LINK_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def _ts(at: float, style: str = "f") -> str:
    return f"<t:{int(at)}:{style}>"


def target_lines(card: ReviewCard, locale: object = None) -> list[str]:
    who = card.target
    lines: list[str] = []
    if who.discord_id:
        lines.append(f"Discord: <@{who.discord_id}> (`{who.discord_id}`)")
    if who.bungie_name or who.bungie_membership_id:
        name = who.bungie_name or localize(t('Bungie player'), locale)
        shown = (f"[{_link_text(name)}]({who.bungie_profile_url})" if who.bungie_profile_url
                 else discord.utils.escape_markdown(name))
        ids = []
        if who.bungie_membership_id:
            ids.append(t("membership `{id}`", id=who.bungie_membership_id))
        if who.bungie_membership_type is not None:
            ids.append(t("type {type}", type=who.bungie_membership_type))
        if who.bungie_character_id:
            ids.append(t("character `{id}`", id=who.bungie_character_id))
        lines.append(f"Bungie: {shown}"
                     + (f" · {', '.join(localize(i, locale) for i in ids)}" if ids else ""))
    if who.game_name or who.player_uuid:
        name = (discord.utils.escape_markdown(who.game_name) if who.game_name
                else localize(t("player"), locale))
        lines.append(localize(t("Game: {name}", name=name), locale)
                     + (f" · `{who.player_uuid}`" if who.player_uuid else ""))
    return lines or [localize(t("unknown"), locale)]


def reporter_lines(card: ReviewCard, locale: object = None) -> list[str]:
    r = card.reporter
    if r is None:
        return [localize(t('hidden: members who are not moderators can read this channel '
                            '(see `/warden setup`)'), locale)]
    lines = [f"<@{r.discord_id}> (`{r.discord_id}`)"]
    if r.destiny_membership_id:
        lines.append(localize(t('Bungie membership `{destiny_membership_id}`',
                                 destiny_membership_id=r.destiny_membership_id), locale))
    if r.player_uuid:
        lines.append(localize(t('Game player `{player_uuid}`', player_uuid=r.player_uuid),
                              locale))
    return lines


def activity_lines(card: ReviewCard, locale: object = None) -> list[str]:
    a = card.activity
    if a is None:
        return []
    parts = []
    if a.mode:
        parts.append(localize(a.mode, locale))
    if a.map_hash:
        parts.append(localize(t("map `{hash}`", hash=a.map_hash), locale))
    if a.period:
        at = _period(a.period)
        # A Discord timestamp: shown in the reader's own time zone and language.
        parts.append(_ts(at.timestamp()) if at is not None else a.period)
    lines = [" · ".join(parts)] if parts else []
    if a.activity_id:
        link = f"[PGCR {a.activity_id}]({a.pgcr_url})" if a.pgcr_url else f"`{a.activity_id}`"
        lines.append(link)
    if a.match_id:
        lines.append(localize(t("Match `{match_id}`", match_id=a.match_id), locale))
    return lines


def _period(text: str) -> datetime | None:
    """Bungie's ISO 8601 period ("2026-11-30T20:15:00Z")."""
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


NO_LINK = t("no link to download it from")
NOT_DISCORD = t("not a Discord attachment link")
SIZE_UNKNOWN = t("its size is unknown")
UPLOAD_LIMIT = t("the post's upload limit was reached")
NO_ATTACH = t("Warden may not attach files in the review channel")
_COPY_STATES = {str(m): m for m in (NO_LINK, NOT_DISCORD, SIZE_UNKNOWN, UPLOAD_LIMIT, NO_ATTACH)}
_TOO_LARGE = re.compile(r"too large \((?P<size>[^()]*)\)")
_DOWNLOAD_FAILED = re.compile(r"download failed \((?P<why>[^()]*)\)")


def too_large(size: str) -> str:
    return t("too large ({size})", size=size)


def download_failed(why: str) -> str:
    return t("download failed ({why})", why=why)


def copy_state_text(state: str) -> str:
    """Why a copy was not attached, as a message: the audit row stores it in English (the
    posts made before stored it so too)."""
    if state in _COPY_STATES:
        return _COPY_STATES[state]
    if found := _TOO_LARGE.fullmatch(state):
        return too_large(found["size"])
    if found := _DOWNLOAD_FAILED.fullmatch(state):
        return download_failed(found["why"])
    return state


def evidence_line(e: EvidenceView, locale: object = None) -> str:
    if e.kind == "message":
        head = (t("Message by <@{author_id}>", author_id=e.author_id) if e.author_id
                else t("Message"))
        link = localize(t(" ([original]({url}))", url=e.url), locale) if e.url else ""
        text = _quote(e.text, 300) if e.text else localize(t('> (no text)'), locale)
        return f"{localize(head, locale)}{link}\n{text}"
    if e.copy_state == "copied":
        state = localize(t('copy attached to this post'), locale)
    elif e.copy_state:
        state = localize(t('not copied: {copy_state}',
                           copy_state=copy_state_text(e.copy_state)), locale)
    else:
        state = localize(t('original only'), locale)
    link = f"[{_link_text(e.label)}]({e.url})" if e.url else discord.utils.escape_markdown(e.label)
    return f"{link} ({state})"


def delivery_line(d: DeliveryView, locale: object = None) -> str:
    line = f"**{localize(d.label, locale)}**: {localize(d.status_label, locale)}"
    if d.upstream_id:
        line += localize(t(" (id `{upstream_id}`)", upstream_id=d.upstream_id), locale)
    if d.handoff_url:
        line += localize(t(' ([hand-off link]({handoff_url}))', handoff_url=d.handoff_url),
                         locale)
    if d.error:
        # A message (rows written since errors were stored as words) or English as stored.
        line += f"\n  {_cut(localize(d.error, locale), 200)}"
    return line


def status_text(card: ReviewCard, locale: object = None) -> str:
    by = card.claimed_by or (card.decided_by if card.status in (
        CaseStatus.RESOLVED, CaseStatus.DISMISSED) else None)
    text = localize(t("{status} by <@{by}>", status=card.status_label, by=by) if by
                    else card.status_label, locale)
    if card.status == CaseStatus.RESOLVED and card.outcome:
        text += "\n" + localize(t("Outcome: {outcome}", outcome=card.outcome), locale)
    if card.decision_reason:
        reason = _plain(_cut(card.decision_reason, 600))
        text += "\n" + localize(t("Reason: {reason}", reason=reason)
                                if card.status == CaseStatus.DISMISSED
                                else t("Note: {note}", note=reason), locale)
    if card.awaiting_approval and card.status in UNDECIDED_CASE_STATUSES:
        text += localize(t('\nWaiting for a moderator to approve before anything is sent.'),
                         locale)
    return text


def _joined(lines: list[str], limit: int = FIELD_MAX) -> str:
    """Newest lines win: drop from the front until the field fits."""
    kept = list(lines)
    while kept and len("\n".join(kept)) > limit:
        kept.pop(0)
    return "\n".join(kept) if kept else _cut(lines[-1], limit) if lines else "-"


def render_embed(card: ReviewCard, locale: object = None) -> discord.Embed:
    """The post in ``locale`` (the server's language for staff; English when None)."""

    def tl(value: str) -> str:
        return localize(value, locale)

    body: str
    if card.purged:
        body = tl(t("*Content removed under the server's retention policy.*"))
    elif card.description:
        body = _plain(_cut(card.description, DESCRIPTION_MAX))
    else:
        body = tl(t('*No description given.*'))
    embed = discord.Embed(
        title=tl(t("Report #{number} · {reason}", number=card.number,
                   reason=card.reason_label)),
        description=body,
        colour=STATUS_COLOURS.get(card.status, discord.Colour.default()),
    )
    embed.timestamp = datetime.fromtimestamp(card.created_at, UTC)
    embed.add_field(name=tl(t("Status")), value=_cut(status_text(card, locale), FIELD_MAX),
                    inline=False)
    embed.add_field(name=tl(t('Reported player')), value=_joined(target_lines(card, locale)),
                    inline=False)
    if card.earlier_total:
        earlier = [f"{_ts(c.at, 'd')} {tl(c.outcome)}" for c in card.earlier_cases]
        embed.add_field(
            name=tl(t("Earlier cases in this server: {count}", count=card.earlier_total)),
            value=_joined([tl(t("Last: {cases}", cases="; ".join(earlier))),
                           tl(t("Whole history: `/reports player`"))]),
            inline=False)
    if len(card.reports) > 1:
        embed.add_field(
            name=tl(t("Reported by {count} members", count=len(card.reports))),
            value=_joined([f"#{r.number} {_ts(r.at, 'R')}"
                           + (f" <@{r.reporter_id}>" if card.reporter is not None else "")
                           + ":\n" + (_quote(r.description, 200) if r.description
                                      else tl(t("> (no description)")))
                           for r in card.reports], 900),
            inline=False)
    embed.add_field(name=tl(t('Reporter (staff only)')),
                    value=_joined(reporter_lines(card, locale)),
                    inline=False)
    activity = activity_lines(card, locale)
    if activity:
        embed.add_field(name=tl(t("Activity")), value=_joined(activity), inline=False)
    if card.evidence and not card.purged:
        embed.add_field(name=tl(t("Evidence")),
                        value=_joined([evidence_line(e, locale) for e in card.evidence], 900),
                        inline=False)
    if card.deliveries:
        embed.add_field(name=tl(t("Delivery")),
                        value=_joined([delivery_line(d, locale) for d in card.deliveries]),
                        inline=False)
    if card.notes:
        notes = []
        for note in card.notes[-4:]:
            when = _ts(note.at, 'R')
            head = (t("Reporter {when}:", when=when) if note.kind == "reply" else
                    t("<@{author_id}> asked {when}:", author_id=note.author_id, when=when)
                    if note.kind == "info_request" else
                    f"<@{note.author_id}> {when}:")
            notes.append(f"{tl(head)}\n{_quote(note.body, 300)}")
        embed.add_field(name=tl(t('Questions and answers')), value=_joined(notes, 900),
                        inline=False)
    history = [
        f"{_ts(h.at, 'R')} {tl(h.text)}" + (f" (<@{h.actor_id}>)" if h.actor_id else "")
        for h in card.history
    ]
    if history:
        more = card.history_total - len(card.history)
        name = tl(t("History")) + (tl(t(' (last {len} of {history_total})',
                                              len=len(history),
                                              history_total=card.history_total))
                                     if more else "")
        embed.add_field(name=name, value=_joined(history, 900), inline=False)
    embed.set_footer(text=tl(t('Warden report id {report_id}', report_id=card.report_id)))
    _fit(embed)
    return embed


def _fit(embed: discord.Embed) -> None:
    """Shrink the description, then the history, until the embed fits Discord's total."""
    while len(embed) > EMBED_MAX and embed.description and len(embed.description) > 200:
        embed.description = _cut(embed.description, len(embed.description) - 500)
    while len(embed) > EMBED_MAX and len(embed.fields) > 3:
        embed.remove_field(len(embed.fields) - 1)


BUTTONS: dict[ReviewAction, tuple[str, discord.ButtonStyle]] = {
    ReviewAction.CLAIM: (t("Claim"), discord.ButtonStyle.primary),
    ReviewAction.UNCLAIM: (t("Unclaim"), discord.ButtonStyle.secondary),
    ReviewAction.APPROVE: (t('Approve and forward'), discord.ButtonStyle.success),
    ReviewAction.RESOLVE: (t("Resolve"), discord.ButtonStyle.success),
    ReviewAction.DISMISS: (t("Dismiss"), discord.ButtonStyle.danger),
    ReviewAction.ASK: (t('Ask reporter for more info'), discord.ButtonStyle.secondary),
}


@dataclass(frozen=True)
class ButtonSpec:
    action: ReviewAction
    label: str
    style: discord.ButtonStyle
    row: int
    destination: str | None = None
    report_id: int | None = None
    """Retry only: the report whose delivery failed."""


def button_specs(card: ReviewCard, locale: object = None) -> list[ButtonSpec]:
    """The buttons the card's state calls for, in display order."""
    specs = []
    for action in card.actions:
        if action is ReviewAction.RETRY:
            continue
        label, style = BUTTONS[action]
        specs.append(ButtonSpec(action, localize(label, locale), style, 0))
    numbered = len(card.reports) > 1
    for report_id, destination, label in card.failed:
        number = next((r.number for r in card.reports if r.report_id == report_id), None)
        retry = localize(t("Retry {destination}", destination=label), locale)
        specs.append(ButtonSpec(
            ReviewAction.RETRY,
            retry + (f" (#{number})" if numbered and number else ""),
            discord.ButtonStyle.secondary, 1, destination, report_id))
    return specs
