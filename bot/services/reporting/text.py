"""What the reporter reads at each step, as ``Notice`` values any front end can show.

The same text serves the ephemeral replies and the DMs, so a reporter told by
DM reads exactly what they would have read in Discord's reply.
"""

from __future__ import annotations

from bot.domain import DeliveryStatus, Evidence, Reason
from bot.i18n import Duration, joined, t
from bot.i18n.locales import LANGUAGES
from bot.i18n.text import Text
from bot.notify import LinkButton, Notice
from bot.services.reporting.requests import DeliveryState, Draft, ReportOutcome

DRAFT_TTL = 14 * 60.0
"""A draft must be confirmed while its interaction still lives (Discord: 15 minutes)."""
DESCRIPTION_SHOWN = 1000


def handoff_button(label: str) -> str:
    return t('File it on {label}', label=label)


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
        if message.url and message.author_id:
            parts.append(t("[message]({url}) by <@{author_id}>", url=message.url,
                           author_id=message.author_id))
        elif message.url:
            parts.append(t("[message]({url})", url=message.url))
        elif message.author_id:
            parts.append(t("a message by <@{author_id}>", author_id=message.author_id))
        else:
            parts.append(t("a message"))
    if files:
        parts.append(t("1 attachment") if len(files) == 1 else
                     t("{count} attachments", count=len(files)))
    return joined(", ", parts)


def summary_notice(draft: Draft) -> Notice:
    report = draft.report
    lines: list[str] = [
        t('**Player:** {reporter_label}', reporter_label=draft.target.reporter_label()),
        t('**Reason:** {label}', label=Reason(report.reason).label),
    ]
    if report.activity_id is not None:
        lines.append(t('**Activity:** {value} (`{activity_id}`)',
                       value=draft.activity_label or t('Destiny activity'),
                       activity_id=report.activity_id))
    if report.match_id is not None:
        lines.append(t('**Match:** `{match_id}`', match_id=report.match_id))
    evidence = _evidence_line(report.evidence)
    if evidence:
        lines.append(t('**Evidence:** {evidence}', evidence=evidence))
    if report.description:
        lines.append(t('**Description:**\n{description}',
                       description=_quote(report.description, DESCRIPTION_SHOWN)))
    going = [p for p in draft.plan if p.included]
    lines.append("")
    lines.append(t('**Goes to:** {where}', where=joined(", ", [
        t("{label} ({note})", label=p.label, note=p.note) if p.note else p.label
        for p in going])))
    for label, words in draft.filed_as:
        lines.append(t('**{label} files it as:** {words}', label=label, words=words))
    for planned in draft.plan:
        if not planned.included:
            lines.append(t('**Not to {label}:** {why_not}',
                           label=planned.label, why_not=planned.why_not))
    lines.append("")
    if draft.review_first:
        lines.append(t("This server's moderators review reports before they are forwarded."))
    lines.append(t('Nothing is sent until you press **Confirm** (within {duration_text}).',
                   duration_text=Duration(DRAFT_TTL)))
    return Notice(title=t('Report #{number}: check and confirm', number=report.number),
        text=joined("\n", lines),
                  buttons=draft.link_buttons)


def _state_line(state: DeliveryState) -> str:
    label = state.label
    if state.status is DeliveryStatus.SENT:
        if state.upstream_id:
            return t('**{label}:** delivered (reference `{upstream_id}`).', label=label,
                     upstream_id=state.upstream_id)
        return t('**{label}:** delivered.', label=label)
    if state.status is DeliveryStatus.HANDED_OFF:
        return (t('**{label}:** {label} only accepts this report from you: open '
                  '**{handoff_button}** (also sent to you by DM). The activity and player '
                  'are already checked and filled in.',
                  label=label, handoff_button=handoff_button(label)))
    if state.status is DeliveryStatus.FAILED and state.error:
        return (t("**{label}:** could not be delivered: {value}. The server's moderators can "
                  'see this and retry.', label=label, value=state.error))
    if state.status is DeliveryStatus.FAILED:
        return t("**{label}:** could not be delivered. The server's moderators can see this "
                 "and retry.", label=label)
    if state.status is DeliveryStatus.SKIPPED and state.error:
        return t('**{label}:** not forwarded: {why}.', label=label, why=state.error)
    if state.status is DeliveryStatus.SKIPPED:
        return t('**{label}:** not forwarded.', label=label)
    if state.status is DeliveryStatus.HELD:
        return t("**{label}:** waiting for a moderator's approval.", label=label)
    return t('**{label}:** sending…', label=label)


def _buttons(outcome: ReportOutcome) -> tuple[LinkButton, ...]:
    return tuple(
        LinkButton(handoff_button(d.label), d.handoff_url)
        for d in outcome.deliveries
        if d.status is DeliveryStatus.HANDED_OFF and d.handoff_url
    )


STILL_GOING = t("I'll tell you here how it went")
"""In the live reply until every destination answered; absent once it shows the outcome."""


def _confirmed(number: int) -> Text:
    return t('Report #{number} is confirmed and saved.', number=number)


def shows_final_outcome(text: str, number: int) -> bool:
    """Whether a live reply, read back, shows report ``number``'s final outcome, in
    whichever language it was shown to the member."""
    confirmed = _confirmed(number)
    return any(confirmed.render(language) in text and STILL_GOING.render(language) not in text
               for language in LANGUAGES)


def progress_notice(outcome: ReportOutcome) -> Notice:
    """Right after Confirm: the report is stored; where each copy stands."""
    report = outcome.report
    lines: list[str] = [_confirmed(report.number)]
    lines += [_state_line(d) for d in outcome.deliveries]
    if not outcome.final:
        lines.append("")
        lines.append(t('{STILL_GOING}, or by DM if it takes longer (turn DMs off with '
                       '`/notifications`).',
                       STILL_GOING=STILL_GOING))
    return Notice(title=t('Report #{number} confirmed', number=report.number),
        text=joined("\n", lines),
                  buttons=_buttons(outcome))


def outcome_notice(outcome: ReportOutcome) -> Notice:
    """Where every copy of the report ended up."""
    report = outcome.report
    lines = [_state_line(d) for d in outcome.deliveries]
    return Notice(title=t('Report #{number}: delivery', number=report.number),
        text=joined("\n", lines),
                  buttons=_buttons(outcome))


def handoff_notice(number: int, activity_id: int, url: str, label: str) -> Notice:
    return Notice(
        title=t('Report #{number}: file it on {label}', number=number, label=label),
        text=(t('{label} only takes this report from you. I checked activity `{activity_id}` '
                "and found the player; the button opens {label}'s report page for them. Sign "
                'in there and submit it.',
                label=label, activity_id=activity_id)),
        buttons=(LinkButton(handoff_button(label), url),),
    )
