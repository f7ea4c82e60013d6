"""What the reporter reads at each step, as ``Notice`` values any front end can show.

The same text serves the ephemeral replies and the DMs, so a reporter told by
DM reads exactly what they would have read in Discord's reply.
"""

from __future__ import annotations

from bot.domain import DeliveryStatus, Evidence, Reason
from bot.notify import LinkButton, Notice
from bot.services.reporting.requests import DeliveryState, Draft, ReportOutcome
from bot.services.reporting.typed_input import duration_text

DRAFT_TTL = 14 * 60.0
"""A draft must be confirmed while its interaction still lives (Discord: 15 minutes)."""
DESCRIPTION_SHOWN = 1000


def handoff_button(label: str) -> str:
    return f"File it on {label}"


def _quote(text: str, limit: int) -> str:
    cut = text if len(text) <= limit else text[: limit - 1] + "…"
    return "\n".join("> " + line for line in cut.splitlines() or [""])


def _evidence_line(evidence: tuple[Evidence, ...]) -> str | None:
    if not evidence:
        return None
    parts: list[str] = []
    messages = [e for e in evidence if e.kind == "message"]
    files = [e for e in evidence if e.kind == "attachment"]
    for message in messages:
        author = f" by <@{message.author_id}>" if message.author_id else ""
        parts.append(f"[message]({message.url}){author}" if message.url else f"a message{author}")
    if files:
        parts.append(f"{len(files)} attachment{'s' if len(files) != 1 else ''}")
    return ", ".join(parts)


def summary_notice(draft: Draft) -> Notice:
    report = draft.report
    lines = [
        f"**Player:** {draft.target.reporter_label()}",
        f"**Reason:** {Reason(report.reason).label}",
    ]
    if report.activity_id is not None:
        lines.append(f"**Activity:** {draft.activity_label or 'Destiny activity'} "
                     f"(`{report.activity_id}`)")
    if report.match_id is not None:
        lines.append(f"**Match:** `{report.match_id}`")
    evidence = _evidence_line(report.evidence)
    if evidence:
        lines.append(f"**Evidence:** {evidence}")
    if report.description:
        lines.append("**Description:**\n" + _quote(report.description, DESCRIPTION_SHOWN))
    going = [p for p in draft.plan if p.included]
    lines.append("")
    lines.append("**Goes to:** " + ", ".join(
        p.label + (f" ({p.note})" if p.note else "") for p in going
    ))
    for planned in draft.plan:
        if not planned.included:
            lines.append(f"**Not to {planned.label}:** {planned.why_not}")
    lines.append("")
    if draft.review_first:
        lines.append("This server's moderators review reports before they are forwarded.")
    lines.append(f"Nothing is sent until you press **Confirm** (within "
                 f"{duration_text(DRAFT_TTL)}).")
    return Notice(title=f"Report #{report.number}: check and confirm", text="\n".join(lines),
                  buttons=draft.link_buttons)


def _state_line(state: DeliveryState) -> str:
    label = state.label
    if state.status is DeliveryStatus.SENT:
        ref = f" (reference `{state.upstream_id}`)" if state.upstream_id else ""
        return f"**{label}:** delivered{ref}."
    if state.status is DeliveryStatus.HANDED_OFF:
        return (f"**{label}:** {label} only accepts this report from you: open "
                f"**{handoff_button(label)}** (also sent to you by DM). The activity and player "
                "are already checked and filled in.")
    if state.status is DeliveryStatus.FAILED:
        return (f"**{label}:** could not be delivered: {state.error or 'unknown error'}. "
                "The server's moderators can see this and retry.")
    if state.status is DeliveryStatus.SKIPPED:
        why = f": {state.error}" if state.error else ""
        return f"**{label}:** not forwarded{why}."
    if state.status is DeliveryStatus.HELD:
        return f"**{label}:** waiting for a moderator's approval."
    return f"**{label}:** sending…"


def _buttons(outcome: ReportOutcome) -> tuple[LinkButton, ...]:
    return tuple(
        LinkButton(handoff_button(d.label), d.handoff_url)
        for d in outcome.deliveries
        if d.status is DeliveryStatus.HANDED_OFF and d.handoff_url
    )


STILL_GOING = "I'll tell you here how it went"
"""In the live reply until every destination answered; absent once it shows the outcome."""


def shows_final_outcome(text: str) -> bool:
    """Whether a live reply, read back, shows a report's final outcome."""
    return "is confirmed and saved" in text and STILL_GOING not in text


def progress_notice(outcome: ReportOutcome) -> Notice:
    """Right after Confirm: the report is stored; where each copy stands."""
    report = outcome.report
    lines = [f"Report #{report.number} is confirmed and saved."]
    lines += [_state_line(d) for d in outcome.deliveries]
    if not outcome.final:
        lines.append("")
        lines.append(f"{STILL_GOING}, or by DM if it takes longer "
                     "(turn DMs off with `/notifications`).")
    return Notice(title=f"Report #{report.number} confirmed", text="\n".join(lines),
                  buttons=_buttons(outcome))


def outcome_notice(outcome: ReportOutcome) -> Notice:
    """Where every copy of the report ended up."""
    report = outcome.report
    lines = [_state_line(d) for d in outcome.deliveries]
    return Notice(title=f"Report #{report.number}: delivery", text="\n".join(lines),
                  buttons=_buttons(outcome))


def handoff_notice(number: int, activity_id: int, url: str, label: str) -> Notice:
    return Notice(
        title=f"Report #{number}: file it on {label}",
        text=(f"{label} only takes this report from you. I checked activity "
              f"`{activity_id}` and found the player; the button opens {label}'s report "
              "page for them. Sign in there and submit it."),
        buttons=(LinkButton(handoff_button(label), url),),
    )
