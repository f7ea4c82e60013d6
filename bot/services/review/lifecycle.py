"""A case's life: moderators claim, approve, resolve, dismiss, ask and retry.

A case gathers the reports of one incident (``bot/store/cases.py``). Lifecycle:
``open -> claimed -> resolved | dismissed`` (``claimed -> open`` on unclaim), in every
review mode; approving (approve mode) releases held deliveries and decides nothing.
Every change is one conditional update in the store with its audit row and the
reporters' notices, so of two moderators pressing buttons at once exactly one succeeds
and the other is told why. Resolving and dismissing tell every reporter of the case.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from bot.domain import (
    DECIDED_CASE_STATUSES,
    UNDECIDED_CASE_STATUSES,
    ActionKind,
    CaseOutcome,
    CaseStatus,
    DeliveryStatus,
    NoteKind,
    Report,
)
from bot.errors import InvalidInput, NotAllowed, UserFacingError
from bot.i18n import Items, joined, t
from bot.i18n.text import Text
from bot.services.delivery.outbox import MAY_HAVE_LANDED
from bot.services.delivery.registry import DestinationRegistry
from bot.services.events import Event, EventBus, EventKind
from bot.services.reporting.reporter_notices import ReporterMessenger, Told
from bot.services.reporting.typed_input import shown
from bot.services.review.access import Moderators
from bot.services.review.card import DELIVERY_LABELS, STATUS_WORDS, reason_label
from bot.services.review.ports import ActionResult, Actor
from bot.services.review.retry_confirm import CONFIRM_WINDOW, SecondClick
from bot.store import Store
from bot.store.blocks import ReporterBlock
from bot.store.cases import CaseChange, CaseWithReports
from bot.store.notices import DECISION, QUESTION, NewNotice

log = logging.getLogger(__name__)

REASON_MAX = 1000
QUESTION_MAX = 1000
REPLY_MAX = 1500
REPLIES_PER_REQUEST = 3
BLOCK_DAYS_MAX = 365


class ReportLifecycle:
    def __init__(
        self,
        *,
        store: Store,
        events: EventBus,
        moderators: Moderators,
        destinations: DestinationRegistry,
        messenger: ReporterMessenger,
        reply_hint: Callable[[int], str],
    ) -> None:
        """``reply_hint``: how the reporter answers a question about report ``number``."""
        self._store = store
        self._events = events
        self._moderators = moderators
        self._destinations = destinations
        self._messenger = messenger
        self._reply_hint = reply_hint
        self._resend_clicks = SecondClick()

    # -- moderators' actions --------------------------------------------------------------
    async def claim(self, guild_id: int, case_id: int, actor: Actor) -> ActionResult:
        found = await self._moderators.case(guild_id, case_id, actor)
        return await self._change(found, actor, CaseChange(
            (CaseStatus.OPEN,), CaseStatus.CLAIMED, "case.claimed", {},
            claimed_by=actor.user_id, set_claimed_by=True), wanted="claim")

    async def unclaim(self, guild_id: int, case_id: int, actor: Actor) -> ActionResult:
        found = await self._moderators.case(guild_id, case_id, actor)
        return await self._change(found, actor, CaseChange(
            (CaseStatus.CLAIMED,), CaseStatus.OPEN, "case.unclaimed", {}, claimed_by=None,
            set_claimed_by=True,
            allow_claimed_by=None if actor.manages_server else actor.user_id), wanted="unclaim")

    async def approve(self, guild_id: int, case_id: int, actor: Actor) -> ActionResult:
        """Release every held delivery of the case's reports (approve mode)."""
        found = await self._moderators.case(guild_id, case_id, actor)
        held: dict[int, list[str]] = {}
        for report in found.reports:
            for d in await self._store.deliveries.for_report(report.id):
                if d.status is DeliveryStatus.HELD:
                    held.setdefault(report.id, []).append(d.destination)
        number = found.reports[0].number
        if not held:
            raise InvalidInput(
                t('Report #{number} has nothing waiting for approval: it was forwarded '
                  'already or no destination is configured.', number=number)
            )
        released = sorted({d for ds in held.values() for d in ds})
        result = await self._change(found, actor, CaseChange(
            (CaseStatus.OPEN, CaseStatus.CLAIMED, CaseStatus.RESOLVED), None,
            "report.forwarded", {"released": released}, release_held=True,
            allow_claimed_by=None if actor.manages_server else actor.user_id),
            wanted="approve",
            notices=[(r.id, _approval_notice(r)) for r in found.reports if r.id in held],
            queued=list(held))
        where = Items(self._destinations.name(d) for d in released)
        told = await self._tell_reporters(found)
        return ActionResult(result.report, t('Approved: forwarding {count} report(s) to '
                                             '{where}. {told}', count=len(held), where=where,
                                             told=told), case=result.case)

    async def resolve(
        self, guild_id: int, case_id: int, actor: Actor, outcome: CaseOutcome, *,
        note: str | None = None, to_reporter: str | None = None,
    ) -> ActionResult:
        """Close the case with ``outcome`` (an action taken, or none); every reporter is
        told "action was taken" or "no action" (never by whom, nor the sanction unless
        ``to_reporter`` says it). Called by the Resolve modal, and by the member actions
        after Discord carried them out."""
        text = _optional(note, REASON_MAX)
        message = _optional(to_reporter, REASON_MAX)
        found = await self._moderators.case(guild_id, case_id, actor)
        details = {"outcome": "action" if outcome.action_taken else "no_action",
                   "action": None if outcome.action is None else outcome.action.value,
                   "note": text, "told_reporter": message is not None}
        result = await self._change(found, actor, CaseChange(
            UNDECIDED_CASE_STATUSES, CaseStatus.RESOLVED, "case.resolved", details,
            decided_by=actor.user_id, outcome=outcome, note=text,
            allow_claimed_by=None if actor.manages_server else actor.user_id),
            wanted="resolve",
            notices=[(r.id, _decision_notice(r, outcome, message)) for r in found.reports])
        told = await self._tell_reporters(found)
        answer = (t('Case of report #{number} resolved (action taken). {told}',
                    number=result.report.number, told=told) if outcome.action_taken else
                  t('Case of report #{number} resolved (no action). {told}',
                    number=result.report.number, told=told))
        return ActionResult(result.report, answer, case=result.case)

    async def dismiss(
        self, guild_id: int, case_id: int, actor: Actor, *, reason: str,
        to_reporter: str | None = None, block_days: int | None = None,
    ) -> ActionResult:
        """Close the case with no action; ``block_days`` also stops its reporters from
        reporting in this server for that many days."""
        text = _required(reason, t('Please give a reason for dismissing.'), REASON_MAX)
        message = _optional(to_reporter, REASON_MAX)
        if block_days is not None and not 1 <= block_days <= BLOCK_DAYS_MAX:
            raise InvalidInput(t('Block for 1 to {days} days, or leave it empty.',
                                 days=BLOCK_DAYS_MAX))
        found = await self._moderators.case(guild_id, case_id, actor)
        result = await self._change(found, actor, CaseChange(
            UNDECIDED_CASE_STATUSES, CaseStatus.DISMISSED, "case.dismissed",
            {"reason": text, "told_reporter": message is not None},
            decided_by=actor.user_id, note=text, skip_held=True,
            allow_claimed_by=None if actor.manages_server else actor.user_id),
            wanted="dismiss",
            notices=[(r.id, _decision_notice(r, None, message)) for r in found.reports])
        told = await self._tell_reporters(found)
        number = result.report.number
        if block_days is None:
            return ActionResult(result.report, t('Case of report #{number} dismissed. {told}',
                                                 number=number, told=told), case=result.case)
        until = time.time() + block_days * 86400.0
        for member_id in sorted({r.reporter_id for r in found.reports}):
            await self._store.blocks.block(guild_id, member_id, until=until, reason=text,
                                           blocked_by=actor.user_id, case_id=case_id)
        return ActionResult(result.report, t(
            'Case of report #{number} dismissed. {told} The reporter(s) may not report in this '
            'server until <t:{until}:f> (`/warden blocks` shows and lifts blocks).',
            number=number, told=told, until=int(until)), case=result.case)

    async def blocks(self, guild_id: int, actor: Actor) -> list[ReporterBlock]:
        """Members blocked from reporting in this server now."""
        await self._moderators.require(guild_id, actor)
        return await self._store.blocks.all_active(guild_id, time.time())

    async def lift_block(self, guild_id: int, actor: Actor, member_id: int) -> str:
        await self._moderators.require(guild_id, actor)
        if not await self._store.blocks.lift(guild_id, member_id, lifted_by=actor.user_id):
            raise InvalidInput(t('<@{member_id}> is not blocked from reporting here.',
                                 member_id=member_id))
        return t('<@{member_id}> may report in this server again.', member_id=member_id)

    async def _change(self, found: CaseWithReports, actor: Actor, change: CaseChange, *,
                      wanted: str, notices: list[tuple[int, NewNotice]] | None = None,
                      queued: list[int] | None = None) -> ActionResult:
        """``queued``: reports whose deliveries the change made pending (the outbox hears
        before the post is edited, so the post shows them queued)."""
        case = await self._store.cases.change(found.case.id, change, actor_id=actor.user_id,
                                              notices=notices or ())
        if case is None:
            raise await self._conflict(found, actor, wanted=wanted)
        for report_id in queued or ():
            await self._events.publish(Event(EventKind.DELIVERIES_QUEUED, report_id))
        await self._changed(case.lead_report_id)
        return ActionResult(found.reports[0], case=case)

    async def ask_reporter(
        self, guild_id: int, case_id: int, actor: Actor, *, question: str
    ) -> ActionResult:
        """Ask every reporter of the case (each answers about their own report)."""
        text = _required(question, t('Please give a question.'), QUESTION_MAX)
        found = await self._moderators.case(guild_id, case_id, actor)
        lead = found.reports[0]
        if found.case.status not in UNDECIDED_CASE_STATUSES:
            raise InvalidInput(t('The case of report #{number} is already {status}.',
                                 number=lead.number, status=STATUS_WORDS[found.case.status]))
        asked = [r for r in found.reports if r.purged_at is None]
        if not asked:
            raise InvalidInput(t('Report #{number} was purged under the retention policy.',
                                 number=lead.number))
        outcomes = []
        for report in asked:
            _, notice_id = await self._store.reports.add_note_telling(
                report.id, author_id=actor.user_id, kind=NoteKind.INFO_REQUEST, body=text,
                notice=NewNotice(
                    report.reporter_id, QUESTION,
                    title=t("Report #{number}: the moderators have a question",
                            number=report.number),
                    body=joined("\n\n", [text, self._reply_hint(report.number)]),
                ),
            )
            outcomes.append(await self._tell(notice_id))
        await self._changed(found.case.lead_report_id)
        told: Text
        if all(o is Told.SENT for o in outcomes):
            told = (t("The reporter got your question by DM.") if len(outcomes) == 1 else
                    t("All {count} reporters got your question by DM.", count=len(outcomes)))
        elif all(o is Told.DMS_CLOSED for o in outcomes):
            told = t("The reporter's DMs are closed, so they were not told; the question is "
                     "recorded on the report.")
        else:
            told = t("A DM to a reporter failed or their DMs are closed; the question is "
                     "recorded on the report, and Warden tries failed DMs again when it next "
                     "starts.")
        return ActionResult(lead, told, case=found.case)

    async def reply(self, guild_id: int, reporter_id: int, number: int, text: str) -> Report:
        """The reporter answers a moderator's question (``/reply``)."""
        body = _required(text, t('Please give an answer.'), REPLY_MAX)
        report = await self._store.reports.by_number(guild_id, number)
        if report is None or report.reporter_id != reporter_id or report.accepted_at is None:
            raise InvalidInput(t('You have no report #{number} in this server.', number=number))
        notes = await self._store.reports.notes(report.id)
        last_request = max(
            (i for i, n in enumerate(notes) if n.kind is NoteKind.INFO_REQUEST), default=None
        )
        if last_request is None:
            raise InvalidInput(
                t('The moderators have not asked anything about report #{number}; there is '
                  'nothing to answer.',
                  number=number)
            )
        replies = sum(1 for n in notes[last_request + 1:] if n.kind is NoteKind.REPLY)
        if replies >= REPLIES_PER_REQUEST:
            raise InvalidInput(
                t('You already answered this question; the moderators will ask again if they '
                  'need more.')
            )
        await self._store.reports.add_note(
            report.id, author_id=reporter_id, kind=NoteKind.REPLY, body=body
        )
        await self._changed(report.id)
        return report

    async def retry(
        self, guild_id: int, report_id: int, destination: str, actor: Actor
    ) -> ActionResult:
        report = await self._moderators.report(guild_id, report_id, actor)
        label = self._destinations.name(destination)
        current = await self._store.deliveries.get(report_id, destination)
        may_have_landed = (current is not None and current.status is DeliveryStatus.FAILED
                           and (current.last_error or "").startswith(MAY_HAVE_LANDED))
        if may_have_landed and not self._resend_clicks.confirmed(report_id, destination,
                                                                 actor.user_id):
            return ActionResult(report, (
                t('The {label} delivery of report #{number} may already have landed: sending '
                  'it again could file it twice. Press **Retry** again within {value} '
                  'minutes to send it anyway.',
                  label=label, number=report.number, value=format(CONFIRM_WINDOW / 60, '.0f'))))
        requeued = await self._store.deliveries.requeue_failed(
            report_id, destination, actor_id=actor.user_id, confirm_resend=may_have_landed
        )
        if not requeued:
            current = await self._store.deliveries.get(report_id, destination)
            if current is None:
                raise InvalidInput(t('The {label} delivery of report #{number} does not exist.',
                                     label=label, number=report.number))
            raise InvalidInput(t('The {label} delivery of report #{number} is {status}, not '
                                 'failed.', label=label, number=report.number,
                                 status=DELIVERY_LABELS.get(current.status, current.status)))
        await self._events.publish(Event(EventKind.DELIVERIES_QUEUED, report_id, destination))
        await self._changed(report_id)
        return ActionResult(report, t('Retrying the {label} delivery of report #{number}.',
                                      label=label, number=report.number))

    async def _changed(self, report_id: int) -> None:
        await self._events.publish(Event(EventKind.REPORT_CHANGED, report_id))

    async def _conflict(self, found: CaseWithReports, actor: Actor, *,
                        wanted: str) -> UserFacingError:
        """Why a conditional update found the case in another state."""
        case = await self._store.cases.get(found.case.id)
        n = found.reports[0].number
        if case is None:
            return InvalidInput(t('That case no longer exists.'))
        if case.status in DECIDED_CASE_STATUSES and wanted != "approve":
            return InvalidInput(t('The case of report #{n} was already {status}.',
                                  n=n, status=STATUS_WORDS[case.status]))
        if case.status is CaseStatus.DISMISSED:
            return InvalidInput(t('The case of report #{n} was dismissed: nothing is sent.',
                                  n=n))
        if case.status is CaseStatus.CLAIMED and case.claimed_by != actor.user_id:
            return NotAllowed(
                t('The case of report #{n} is claimed by <@{claimed_by}>. Only they, or a '
                  'member with Manage Server, can act on it until it is unclaimed.',
                  n=n, claimed_by=case.claimed_by)
            )
        if wanted == "claim" and case.status is CaseStatus.CLAIMED:
            return InvalidInput(t('You already claimed the case of report #{n}.', n=n))
        if wanted == "unclaim" and case.status is CaseStatus.OPEN:
            return InvalidInput(t('The case of report #{n} is not claimed.', n=n))
        return InvalidInput(t('The case of report #{n} is {status}; that cannot be done now.',
                              n=n, status=STATUS_WORDS[case.status]))

    # -- telling the reporter ------------------------------------------------------------
    async def _tell(self, notice_id: int | None) -> Told:
        """DM the notice just queued (the next start sends it if this process cannot)."""
        notice = None if notice_id is None else await self._store.notices.get_untold(notice_id)
        if notice is None:
            return Told.ALREADY
        message = await self._messenger.message_for(notice)
        return Told.ALREADY if message is None else await self._messenger.tell_by_dm(
            notice, message)

    async def _tell_reporters(self, found: CaseWithReports) -> Text | str:
        """DM the decisions queued with the case's change, one per report."""
        outcomes = []
        for report in found.reports:
            notice = await self._store.notices.latest_untold(report.id, DECISION)
            if notice is not None:
                outcomes.append(await self._tell(notice.id))
        if not outcomes:
            return ""
        if len(outcomes) == 1:
            return {
                Told.SENT: t("The reporter was told by DM."),
                Told.DMS_CLOSED: t("The reporter's DMs are closed, so they were not told."),
                Told.DMS_OFF: t("The reporter turned off outcome DMs."),
            }.get(outcomes[0], t("The DM to the reporter failed; Warden tries again when it "
                                 "next starts."))
        sent = sum(o is Told.SENT for o in outcomes)
        if sent == len(outcomes):
            return t("{sent} of {count} reporters were told by DM.", sent=sent,
                     count=len(outcomes))
        return t("{sent} of {count} reporters were told by DM (the others have DMs closed or "
                 "off, or Warden tries again when it next starts).", sent=sent,
                 count=len(outcomes))


def _about(report: Report) -> dict[str, object]:
    return {"number": report.number, "reason": reason_label(report.reason),
            "target": target_name(report)}


def _approval_notice(report: Report) -> NewNotice:
    return NewNotice(
        report.reporter_id, DECISION,
        title=t("Report #{number}: forwarded", number=report.number),
        body=t("The moderators approved your report #{number} ({reason}) about {target}. "
               "Warden is forwarding it now and will tell you where it was delivered.",
               **_about(report)))


def _decision_notice(report: Report, outcome: CaseOutcome | None,
                     to_reporter: str | None) -> NewNotice:
    """What a reporter is told when the case closes: whether action was taken, never by
    whom nor which sanction (unless the moderator's own message says so). Stored as
    messages, so the reporter reads them in their own language."""
    text: str
    if outcome is not None and outcome.action_taken:
        text = t("The moderators reviewed your report #{number} ({reason}) about {target}: "
                 "action was taken. Thank you.", **_about(report))
        title = t("Report #{number}: action was taken", number=report.number)
    else:
        text = t("The moderators reviewed your report #{number} ({reason}) about {target} "
                 "and closed it: no action was taken.", **_about(report))
        title = t("Report #{number}: no action", number=report.number)
    if to_reporter:
        text = t("{closed}\n\nMessage from the moderators: {message}", closed=text,
                 message=to_reporter)
    return NewNotice(report.reporter_id, DECISION, body=text, title=title)


def target_name(report: Report) -> str:
    return report.target_bungie_name or report.target_game_name or (
        f"<@{report.target_discord_id}>" if report.target_discord_id else report.target_key
    )


def parse_outcome(text: str | None) -> CaseOutcome:
    """The Resolve modal's outcome field: an action kind, or empty/"none" for no action."""
    value = (text or "").strip().lower()
    if value in ("", "none", "no", "no action"):
        return CaseOutcome(None)
    try:
        return CaseOutcome(ActionKind(value))
    except ValueError:
        kinds = ", ".join(k.value for k in ActionKind)
        raise InvalidInput(t("The action taken is one of {kinds}, or empty for no action; "
                             "not {value}.", kinds=kinds, value=shown(value, 20))) from None


def _required(text: str | None, missing: Text, limit: int) -> str:
    """``missing``: the whole message asking for it."""
    value = (text or "").strip()
    if not value:
        raise InvalidInput(missing)
    if len(value) > limit:
        raise InvalidInput(t('Please keep it under {limit} characters.', limit=limit))
    return value


def _optional(text: str | None, limit: int) -> str | None:
    value = (text or "").strip()
    if len(value) > limit:
        raise InvalidInput(t('Please keep it under {limit} characters.', limit=limit))
    return value or None

