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
from bot.i18n import t
from bot.services.delivery.outbox import MAY_HAVE_LANDED
from bot.services.delivery.registry import DestinationRegistry
from bot.services.events import Event, EventBus, EventKind
from bot.services.reporting.reporter_notices import ReporterMessenger, Told
from bot.services.review.access import Moderators
from bot.services.review.card import reason_label
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
        reply_hint: str,
    ) -> None:
        """``reply_hint``: how the reporter answers a question, with ``{number}``."""
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
                _en('Report #{number} has nothing waiting for approval: it was forwarded '
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
        where = _join([self._destinations.name(d) for d in released])
        told = await self._tell_reporters(found)
        return ActionResult(result.report, _en('Approved: forwarding {count} report(s) to '
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
        text = (_en('Case of report #{number} resolved (action taken). {told}',
                  number=result.report.number, told=told) if outcome.action_taken else
                _en('Case of report #{number} resolved (no action). {told}',
                  number=result.report.number, told=told))
        return ActionResult(result.report, text, case=result.case)

    async def dismiss(
        self, guild_id: int, case_id: int, actor: Actor, *, reason: str,
        to_reporter: str | None = None, block_days: int | None = None,
    ) -> ActionResult:
        """Close the case with no action; ``block_days`` also stops its reporters from
        reporting in this server for that many days."""
        text = _required(reason, "a reason for dismissing", REASON_MAX)
        message = _optional(to_reporter, REASON_MAX)
        if block_days is not None and not 1 <= block_days <= BLOCK_DAYS_MAX:
            raise InvalidInput(_en('Block for 1 to {days} days, or leave it empty.',
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
        blocked: str = ""
        if block_days is not None:
            until = time.time() + block_days * 86400.0
            for member_id in sorted({r.reporter_id for r in found.reports}):
                await self._store.blocks.block(guild_id, member_id, until=until, reason=text,
                                               blocked_by=actor.user_id, case_id=case_id)
            blocked = _en(' The reporter(s) may not report in this server until {until} '
                        '(`/warden blocks` shows and lifts blocks).',
                        until=f"<t:{int(until)}:f>")
        return ActionResult(result.report, _en('Case of report #{number} dismissed. '
                                             '{told}{blocked}', number=result.report.number,
                                             told=told, blocked=blocked), case=result.case)

    async def blocks(self, guild_id: int, actor: Actor) -> list[ReporterBlock]:
        """Members blocked from reporting in this server now."""
        await self._moderators.require(guild_id, actor)
        return await self._store.blocks.all_active(guild_id, time.time())

    async def lift_block(self, guild_id: int, actor: Actor, member_id: int) -> str:
        await self._moderators.require(guild_id, actor)
        if not await self._store.blocks.lift(guild_id, member_id, lifted_by=actor.user_id):
            raise InvalidInput(_en('<@{member_id}> is not blocked from reporting here.',
                                 member_id=member_id))
        return _en('<@{member_id}> may report in this server again.', member_id=member_id)

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
        text = _required(question, "a question", QUESTION_MAX)
        found = await self._moderators.case(guild_id, case_id, actor)
        lead = found.reports[0]
        if found.case.status not in UNDECIDED_CASE_STATUSES:
            raise InvalidInput(_en('The case of report #{number} is already {status}.',
                                 number=lead.number, status=found.case.status))
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
                    title=f"Report #{report.number}: the moderators have a question",
                    body=f"{text}\n\n{self._reply_hint.format(number=report.number)}",
                ),
            )
            outcomes.append(await self._tell(notice_id))
        await self._changed(found.case.lead_report_id)
        if all(o is Told.SENT for o in outcomes):
            told = ("The reporter got your question by DM." if len(outcomes) == 1 else
                    f"All {len(outcomes)} reporters got your question by DM.")
        elif all(o is Told.DMS_CLOSED for o in outcomes):
            told = ("The reporter's DMs are closed, so they were not told; the question is "
                    "recorded on the report.")
        else:
            told = ("A DM to a reporter failed or their DMs are closed; the question is "
                    "recorded on the report, and Warden tries failed DMs again when it next "
                    "starts.")
        return ActionResult(lead, told, case=found.case)

    async def reply(self, guild_id: int, reporter_id: int, number: int, text: str) -> Report:
        """The reporter answers a moderator's question (``/reply``)."""
        body = _required(text, "an answer", REPLY_MAX)
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
            state = "does not exist" if current is None else f"is {current.status}, not failed"
            raise InvalidInput(t('The {label} delivery of report #{number} {state}.',
                                 label=label, number=report.number, state=state))
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
            return InvalidInput(_en('That case no longer exists.'))
        if case.status in DECIDED_CASE_STATUSES and wanted != "approve":
            return InvalidInput(_en('The case of report #{n} was already {status}.',
                                  n=n, status=case.status))
        if case.status is CaseStatus.DISMISSED:
            return InvalidInput(_en('The case of report #{n} was dismissed: nothing is sent.',
                                  n=n))
        if case.status is CaseStatus.CLAIMED and case.claimed_by != actor.user_id:
            return NotAllowed(
                _en('The case of report #{n} is claimed by <@{claimed_by}>. Only they, or a '
                  'member with Manage Server, can {wanted} it until it is unclaimed.',
                  n=n, claimed_by=case.claimed_by, wanted=wanted)
            )
        if wanted == "claim" and case.status is CaseStatus.CLAIMED:
            return InvalidInput(_en('You already claimed the case of report #{n}.', n=n))
        if wanted == "unclaim" and case.status is CaseStatus.OPEN:
            return InvalidInput(_en('The case of report #{n} is not claimed.', n=n))
        return InvalidInput(_en('The case of report #{n} is {status}; you cannot {wanted} it '
                              'now.', n=n, status=case.status, wanted=wanted))

    # -- telling the reporter ------------------------------------------------------------
    async def _tell(self, notice_id: int | None) -> Told:
        """DM the notice just queued (the next start sends it if this process cannot)."""
        notice = None if notice_id is None else await self._store.notices.get_untold(notice_id)
        if notice is None:
            return Told.ALREADY
        message = await self._messenger.message_for(notice)
        return Told.ALREADY if message is None else await self._messenger.tell_by_dm(
            notice, message)

    async def _tell_reporters(self, found: CaseWithReports) -> str:
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
                Told.SENT: "The reporter was told by DM.",
                Told.DMS_CLOSED: "The reporter's DMs are closed, so they were not told.",
                Told.DMS_OFF: "The reporter turned off outcome DMs.",
            }.get(outcomes[0], "The DM to the reporter failed; Warden tries again when it "
                               "next starts.")
        sent = sum(o is Told.SENT for o in outcomes)
        return (f"{sent} of {len(outcomes)} reporters were told by DM"
                + ("." if sent == len(outcomes) else
                   " (the others have DMs closed or off, or Warden tries again when it next "
                   "starts)."))


def _about(report: Report) -> str:
    return (f"your report #{report.number} ({reason_label(report.reason)}) about "
            f"{target_name(report)}")


def _approval_notice(report: Report) -> NewNotice:
    return NewNotice(report.reporter_id, DECISION,
                     title=f"Report #{report.number}: forwarded",
                     body=f"The moderators approved {_about(report)}. Warden is forwarding it "
                          "now and will tell you where it was delivered.")


def _decision_notice(report: Report, outcome: CaseOutcome | None,
                     to_reporter: str | None) -> NewNotice:
    """What a reporter is told when the case closes: whether action was taken, never by
    whom nor which sanction (unless the moderator's own message says so)."""
    if outcome is not None and outcome.action_taken:
        text = f"The moderators reviewed {_about(report)}: action was taken. Thank you."
        title = f"Report #{report.number}: action was taken"
    else:
        text = f"The moderators reviewed {_about(report)} and closed it: no action was taken."
        title = f"Report #{report.number}: no action"
    if to_reporter:
        text += f"\n\nMessage from the moderators: {to_reporter}"
    return NewNotice(report.reporter_id, DECISION, body=text, title=title)


def target_name(report: Report) -> str:
    return report.target_bungie_name or report.target_game_name or (
        f"<@{report.target_discord_id}>" if report.target_discord_id else report.target_key
    )


def _en(msgid: str, **params: object) -> str:
    """Moderators' answers about cases, in English until the translators have them: the
    catalogs are complete for every language (tests/i18n), and a ``t`` id nobody translated
    would break that. Switch these to ``t`` with their translations."""
    return msgid.format(**params)


def parse_outcome(text: str | None) -> CaseOutcome:
    """The Resolve modal's outcome field: an action kind, or empty/"none" for no action."""
    value = (text or "").strip().lower()
    if value in ("", "none", "no", "no action"):
        return CaseOutcome(None)
    try:
        return CaseOutcome(ActionKind(value))
    except ValueError:
        kinds = ", ".join(k.value for k in ActionKind)
        raise InvalidInput(f"The action taken is one of {kinds}, or empty for no action; "
                           f"not {value[:20]!r}.") from None


def _required(text: str | None, what: str, limit: int) -> str:
    value = (text or "").strip()
    if not value:
        raise InvalidInput(t('Please give {what}.', what=what))
    if len(value) > limit:
        raise InvalidInput(t('Please keep it under {limit} characters.', limit=limit))
    return value


def _optional(text: str | None, limit: int) -> str | None:
    value = (text or "").strip()
    if len(value) > limit:
        raise InvalidInput(f"Please keep it under {limit} characters.")
    return value or None


def _join(items: list[str]) -> str:
    if not items:
        return "nowhere"
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]

