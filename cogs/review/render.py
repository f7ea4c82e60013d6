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
from bot.i18n import t as tr
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


def target_lines(card: ReviewCard) -> list[str]:
    t = card.target
    lines: list[str] = []
    if t.discord_id:
        lines.append(f"Discord: <@{t.discord_id}> (`{t.discord_id}`)")
    if t.bungie_name or t.bungie_membership_id:
        name = t.bungie_name or tr('Bungie player')
        shown = (f"[{_link_text(name)}]({t.bungie_profile_url})" if t.bungie_profile_url
                 else discord.utils.escape_markdown(name))
        ids = []
        if t.bungie_membership_id:
            ids.append(f"membership `{t.bungie_membership_id}`")
        if t.bungie_membership_type is not None:
            ids.append(f"type {t.bungie_membership_type}")
        if t.bungie_character_id:
            ids.append(f"character `{t.bungie_character_id}`")
        lines.append(f"Bungie: {shown}" + (f" · {', '.join(ids)}" if ids else ""))
    if t.game_name or t.player_uuid:
        name = discord.utils.escape_markdown(t.game_name or "player")
        lines.append(f"Game: {name}" + (f" · `{t.player_uuid}`" if t.player_uuid else ""))
    return lines or ["unknown"]


def reporter_lines(card: ReviewCard) -> list[str]:
    r = card.reporter
    if r is None:
        return [tr('hidden: members who are not moderators can read this channel (see '
                  '`/warden setup`)')]
    lines = [f"<@{r.discord_id}> (`{r.discord_id}`)"]
    if r.destiny_membership_id:
        lines.append(tr('Bungie membership `{destiny_membership_id}`',
                       destiny_membership_id=r.destiny_membership_id))
    if r.player_uuid:
        lines.append(tr('Game player `{player_uuid}`', player_uuid=r.player_uuid))
    return lines


def activity_lines(card: ReviewCard) -> list[str]:
    a = card.activity
    if a is None:
        return []
    parts = []
    if a.mode:
        parts.append(a.mode)
    if a.map_hash:
        parts.append(f"map `{a.map_hash}`")
    if a.period:
        parts.append(a.period.replace("T", " ").replace("Z", " UTC"))
    lines = [" · ".join(parts)] if parts else []
    if a.activity_id:
        link = f"[PGCR {a.activity_id}]({a.pgcr_url})" if a.pgcr_url else f"`{a.activity_id}`"
        lines.append(link)
    if a.match_id:
        lines.append(f"Match `{a.match_id}`")
    return lines


def evidence_line(e: EvidenceView) -> str:
    if e.kind == "message":
        who = f" by <@{e.author_id}>" if e.author_id else ""
        link = f" ([original]({e.url}))" if e.url else ""
        text = _quote(e.text, 300) if e.text else tr('> (no text)')
        return f"Message{who}{link}\n{text}"
    if e.copy_state == "copied":
        state = tr('copy attached to this post')
    elif e.copy_state:
        state = tr('not copied: {copy_state}', copy_state=e.copy_state)
    else:
        state = tr('original only')
    link = f"[{_link_text(e.label)}]({e.url})" if e.url else discord.utils.escape_markdown(e.label)
    return f"{link} ({state})"


def delivery_line(d: DeliveryView) -> str:
    line = f"**{d.label}**: {d.status_label}"
    if d.upstream_id:
        line += f" (id `{d.upstream_id}`)"
    if d.handoff_url:
        line += tr(' ([hand-off link]({handoff_url}))', handoff_url=d.handoff_url)
    if d.error:
        line += f"\n  {_cut(d.error, 200)}"
    return line


def status_text(card: ReviewCard) -> str:
    text = card.status_label
    if card.claimed_by:
        text += f" by <@{card.claimed_by}>"
    if card.status in (CaseStatus.RESOLVED, CaseStatus.DISMISSED) and card.decided_by:
        text += f" by <@{card.decided_by}>"
    if card.status == CaseStatus.RESOLVED and card.outcome:
        text += f"\nOutcome: {card.outcome}"
    if card.decision_reason:
        what = "Reason" if card.status == CaseStatus.DISMISSED else "Note"
        text += f"\n{what}: {_plain(_cut(card.decision_reason, 600))}"
    if card.awaiting_approval and card.status in UNDECIDED_CASE_STATUSES:
        text += tr('\nWaiting for a moderator to approve before anything is sent.')
    return text


def _joined(lines: list[str], limit: int = FIELD_MAX) -> str:
    """Newest lines win: drop from the front until the field fits."""
    kept = list(lines)
    while kept and len("\n".join(kept)) > limit:
        kept.pop(0)
    return "\n".join(kept) if kept else _cut(lines[-1], limit) if lines else "-"


def render_embed(card: ReviewCard) -> discord.Embed:
    body: str
    if card.purged:
        body = tr("*Content removed under the server's retention policy.*")
    elif card.description:
        body = _plain(_cut(card.description, DESCRIPTION_MAX))
    else:
        body = tr('*No description given.*')
    embed = discord.Embed(
        title=f"Report #{card.number} · {card.reason_label}",
        description=body,
        colour=STATUS_COLOURS.get(card.status, discord.Colour.default()),
    )
    embed.timestamp = datetime.fromtimestamp(card.created_at, UTC)
    embed.add_field(name="Status", value=_cut(status_text(card), FIELD_MAX), inline=False)
    embed.add_field(name=tr('Reported player'), value=_joined(target_lines(card)), inline=False)
    if card.earlier_total:
        earlier = [f"{_ts(c.at, 'd')} {c.outcome}" for c in card.earlier_cases]
        embed.add_field(
            name=f"Earlier cases in this server: {card.earlier_total}",
            value=_joined(["Last: " + "; ".join(earlier), "Whole history: `/reports player`"]),
            inline=False)
    if len(card.reports) > 1:
        embed.add_field(
            name=f"Reported by {len(card.reports)} members",
            value=_joined([f"#{r.number} {_ts(r.at, 'R')}"
                           + (f" <@{r.reporter_id}>" if card.reporter is not None else "")
                           + ":\n" + (_quote(r.description, 200) if r.description
                                      else "> (no description)")
                           for r in card.reports], 900),
            inline=False)
    embed.add_field(name=tr('Reporter (staff only)'), value=_joined(reporter_lines(card)),
                    inline=False)
    activity = activity_lines(card)
    if activity:
        embed.add_field(name="Activity", value=_joined(activity), inline=False)
    if card.evidence and not card.purged:
        embed.add_field(name="Evidence",
                        value=_joined([evidence_line(e) for e in card.evidence], 900),
                        inline=False)
    if card.deliveries:
        embed.add_field(name="Delivery",
                        value=_joined([delivery_line(d) for d in card.deliveries]),
                        inline=False)
    if card.notes:
        notes = []
        for note in card.notes[-4:]:
            who = "Reporter" if note.kind == "reply" else (
                f"<@{note.author_id}> asked" if note.kind == "info_request" else
                f"<@{note.author_id}>"
            )
            notes.append(f"{who} {_ts(note.at, 'R')}:\n{_quote(note.body, 300)}")
        embed.add_field(name=tr('Questions and answers'), value=_joined(notes, 900), inline=False)
    history = [
        f"{_ts(h.at, 'R')} {h.text}" + (f" (<@{h.actor_id}>)" if h.actor_id else "")
        for h in card.history
    ]
    if history:
        more = card.history_total - len(card.history)
        name = "History" + (tr(' (last {len} of {history_total})',
                              len=len(history), history_total=card.history_total) if more else "")
        embed.add_field(name=name, value=_joined(history, 900), inline=False)
    embed.set_footer(text=tr('Warden report id {report_id}', report_id=card.report_id))
    _fit(embed)
    return embed


def _fit(embed: discord.Embed) -> None:
    """Shrink the description, then the history, until the embed fits Discord's total."""
    while len(embed) > EMBED_MAX and embed.description and len(embed.description) > 200:
        embed.description = _cut(embed.description, len(embed.description) - 500)
    while len(embed) > EMBED_MAX and len(embed.fields) > 3:
        embed.remove_field(len(embed.fields) - 1)


BUTTONS: dict[ReviewAction, tuple[str, discord.ButtonStyle]] = {
    ReviewAction.CLAIM: ("Claim", discord.ButtonStyle.primary),
    ReviewAction.UNCLAIM: ("Unclaim", discord.ButtonStyle.secondary),
    ReviewAction.APPROVE: (tr('Approve and forward'), discord.ButtonStyle.success),
    ReviewAction.RESOLVE: ("Resolve", discord.ButtonStyle.success),
    ReviewAction.DISMISS: ("Dismiss", discord.ButtonStyle.danger),
    ReviewAction.ASK: (tr('Ask reporter for more info'), discord.ButtonStyle.secondary),
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


def button_specs(card: ReviewCard) -> list[ButtonSpec]:
    """The buttons the card's state calls for, in display order."""
    specs = []
    for action in card.actions:
        if action is ReviewAction.RETRY:
            continue
        label, style = BUTTONS[action]
        specs.append(ButtonSpec(action, label, style, 0))
    numbered = len(card.reports) > 1
    for report_id, destination, label in card.failed:
        number = next((r.number for r in card.reports if r.report_id == report_id), None)
        specs.append(ButtonSpec(
            ReviewAction.RETRY,
            f"Retry {label}" + (f" (#{number})" if numbered and number else ""),
            discord.ButtonStyle.secondary, 1, destination, report_id))
    return specs
