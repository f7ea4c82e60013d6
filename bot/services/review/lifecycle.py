"""A report's life after acceptance: moderators claim, approve, dismiss, ask and retry.

Lifecycle: ``open -> claimed -> forwarded | dismissed`` (``claimed -> open`` on unclaim).
Every change is one conditional update in the store with its audit row, so of two
moderators pressing buttons at once exactly one succeeds and the other is told why.
In auto mode a report with nothing held for approval is forwarded on arrival.
"""

from __future__ import annotations

import logging

from bot.domain import UNDECIDED_STATUSES, DeliveryStatus, NoteKind, Report, ReportStatus
from bot.errors import InvalidInput, NotAllowed, UserFacingError
from bot.i18n import t
from bot.services.delivery.outbox import MAY_HAVE_LANDED
from bot.services.delivery.registry import DestinationRegistry
from bot.services.events import Event, EventBus, EventKind, Listening
from bot.services.reporting.reporter_notices import ReporterMessenger, Told
from bot.services.review.access import Moderators
from bot.services.review.card import reason_label
from bot.services.review.ports import ActionResult, Actor
from bot.services.review.retry_confirm import CONFIRM_WINDOW, SecondClick
from bot.store import Store
from bot.store.notices import DECISION, QUESTION, NewNotice

log = logging.getLogger(__name__)

REASON_MAX = 1000
QUESTION_MAX = 1000
REPLY_MAX = 1500
REPLIES_PER_REQUEST = 3
_DECIDED = (ReportStatus.FORWARDED, ReportStatus.DISMISSED)


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

    def listens(self) -> Listening:
        return {EventKind.REPORT_ACCEPTED: self._on_accepted}

    async def _on_accepted(self, event: Event) -> None:
        if event.report_id is None:
            return
        found = await self._store.report_views.with_deliveries(event.report_id)
        if found is None:
            return
        report, deliveries = found.report, found.deliveries
        if (
            report.status is ReportStatus.OPEN
            and deliveries
            and not any(d.status is DeliveryStatus.HELD for d in deliveries)
        ):
            # Nothing waits for approval (auto mode): the report was forwarded at once.
            await self._store.reports.transition(
                report.id, from_statuses=(ReportStatus.OPEN,), to_status=ReportStatus.FORWARDED,
                actor_id=None, action="report.forwarded", details={"automatic": True},
            )

    # -- moderators' actions --------------------------------------------------------------
    async def claim(self, guild_id: int, report_id: int, actor: Actor) -> ActionResult:
        await self._moderators.report(guild_id, report_id, actor)
        updated = await self._store.reports.transition(
            report_id, from_statuses=(ReportStatus.OPEN,), to_status=ReportStatus.CLAIMED,
            actor_id=actor.user_id, action="report.claimed", set_claimed_by=True,
            claimed_by=actor.user_id,
        )
        if updated is None:
            raise await self._conflict(report_id, actor, wanted="claim")
        await self._changed(report_id)
        return ActionResult(updated)

    async def unclaim(self, guild_id: int, report_id: int, actor: Actor) -> ActionResult:
        await self._moderators.report(guild_id, report_id, actor)
        updated = await self._store.reports.transition(
            report_id, from_statuses=(ReportStatus.CLAIMED,), to_status=ReportStatus.OPEN,
            actor_id=actor.user_id, action="report.unclaimed", set_claimed_by=True,
            claimed_by=None, allow_claimed_by=None if actor.manages_server else actor.user_id,
        )
        if updated is None:
            raise await self._conflict(report_id, actor, wanted="unclaim")
        await self._changed(report_id)
        return ActionResult(updated)

    async def approve(self, guild_id: int, report_id: int, actor: Actor) -> ActionResult:
        report = await self._moderators.report(guild_id, report_id, actor)
        deliveries = await self._store.deliveries.for_report(report_id)
        held = [d.destination for d in deliveries if d.status is DeliveryStatus.HELD]
        if report.status in UNDECIDED_STATUSES and not held:
            raise InvalidInput(
                t('Report #{number} has nothing waiting for approval: it was forwarded '
                  'automatically or no destination is configured.',
                  number=report.number)
            )
        updated = await self._store.reports.transition(
            report_id, from_statuses=UNDECIDED_STATUSES, to_status=ReportStatus.FORWARDED,
            actor_id=actor.user_id, action="report.forwarded", decided_by=actor.user_id,
            details={"released": held}, release_held=True,
            allow_claimed_by=None if actor.manages_server else actor.user_id,
            notice=_decision_notice(report, forwarded=True, to_reporter=None),
        )
        if updated is None:
            raise await self._conflict(report_id, actor, wanted="approve")
        await self._events.publish(Event(EventKind.DELIVERIES_QUEUED, report_id))
        await self._changed(report_id)
        where = _join([self._destinations.name(d) for d in held])
        told = await self._tell_reporter(updated)
        return ActionResult(updated, t('Report #{number} approved: forwarding to {where}. '
                                       '{told}',
                                       number=updated.number, where=where, told=told))

    async def dismiss(
        self, guild_id: int, report_id: int, actor: Actor, *, reason: str,
        to_reporter: str | None = None,
    ) -> ActionResult:
        text = _required(reason, "a reason for dismissing", REASON_MAX)
        message = (to_reporter or "").strip()[:REASON_MAX] or None
        report = await self._moderators.report(guild_id, report_id, actor)
        updated = await self._store.reports.transition(
            report_id, from_statuses=UNDECIDED_STATUSES, to_status=ReportStatus.DISMISSED,
            actor_id=actor.user_id, action="report.dismissed", decided_by=actor.user_id,
            decision_reason=text, details={"reason": text, "told_reporter": message is not None},
            skip_held=True, allow_claimed_by=None if actor.manages_server else actor.user_id,
            notice=_decision_notice(report, forwarded=False, to_reporter=message),
        )
        if updated is None:
            raise await self._conflict(report_id, actor, wanted="dismiss")
        await self._changed(report_id)
        told = await self._tell_reporter(updated)
        return ActionResult(updated, t('Report #{number} dismissed. {told}',
                                       number=updated.number, told=told))

    async def ask_reporter(
        self, guild_id: int, report_id: int, actor: Actor, *, question: str
    ) -> ActionResult:
        text = _required(question, "a question", QUESTION_MAX)
        report = await self._moderators.report(guild_id, report_id, actor)
        if report.status not in UNDECIDED_STATUSES:
            raise InvalidInput(t('Report #{number} is already {status}.',
                                 number=report.number, status=report.status))
        if report.purged_at is not None:
            raise InvalidInput(t('Report #{number} was purged under the retention policy.',
                                 number=report.number))
        _, notice_id = await self._store.reports.add_note_telling(
            report_id, author_id=actor.user_id, kind=NoteKind.INFO_REQUEST, body=text,
            notice=NewNotice(
                report.reporter_id, QUESTION,
                title=f"Report #{report.number}: the moderators have a question",
                body=f"{text}\n\n{self._reply_hint.format(number=report.number)}",
            ),
        )
        await self._changed(report_id)
        outcome = await self._tell(notice_id)
        if outcome is Told.SENT:
            told = "The reporter got your question by DM."
        elif outcome is Told.DMS_CLOSED:
            told = ("The reporter's DMs are closed, so they were not told; the question is "
                    "recorded on the report.")
        else:
            told = ("The DM to the reporter failed; the question is recorded on the report, "
                    "and Warden tries the DM again when it next starts.")
        return ActionResult(report, told)

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

    async def _conflict(self, report_id: int, actor: Actor, *, wanted: str) -> UserFacingError:
        """Why a conditional update found the report in another state."""
        report = await self._store.reports.get(report_id)
        if report is None:
            return InvalidInput(t('That report no longer exists.'))
        n = report.number
        if report.status in _DECIDED:
            by = f" by <@{report.decided_by}>" if report.decided_by else ""
            return InvalidInput(t('Report #{n} was already {status}{by}.',
                                  n=n, status=report.status, by=by))
        if report.status is ReportStatus.CLAIMED and report.claimed_by != actor.user_id:
            return NotAllowed(
                t('Report #{n} is claimed by <@{claimed_by}>. Only they, or a member with '
                  'Manage Server, can {wanted} it until it is unclaimed.',
                  n=n, claimed_by=report.claimed_by, wanted=wanted)
            )
        if wanted == "claim" and report.status is ReportStatus.CLAIMED:
            return InvalidInput(t('You already claimed report #{n}.', n=n))
        if wanted == "unclaim" and report.status is ReportStatus.OPEN:
            return InvalidInput(t('Report #{n} is not claimed.', n=n))
        return InvalidInput(t('Report #{n} is {status}; it cannot be {wanted}ed now.',
                              n=n, status=report.status, wanted=wanted))

    # -- telling the reporter ------------------------------------------------------------
    async def _tell(self, notice_id: int | None) -> Told:
        """DM the notice just queued (the next start sends it if this process cannot)."""
        notice = None if notice_id is None else await self._store.notices.get_untold(notice_id)
        if notice is None:
            return Told.ALREADY
        message = await self._messenger.message_for(notice)
        return Told.ALREADY if message is None else await self._messenger.tell_by_dm(
            notice, message)

    async def _tell_reporter(self, report: Report) -> str:
        """DM the decision queued with ``report``'s transition."""
        notice = await self._store.notices.latest_untold(report.id, DECISION)
        outcome = await self._tell(None if notice is None else notice.id)
        return {
            Told.SENT: "The reporter was told by DM.",
            Told.DMS_CLOSED: "The reporter's DMs are closed, so they were not told.",
            Told.DMS_OFF: "The reporter turned off outcome DMs.",
        }.get(outcome, "The DM to the reporter failed; Warden tries again when it next "
                       "starts.")


def _decision_notice(report: Report, *, forwarded: bool, to_reporter: str | None) -> NewNotice:
    about = f"report #{report.number} ({reason_label(report.reason)})"
    target = target_name(report)
    if forwarded:
        text = (f"The moderators approved your {about} about {target}. Warden is "
                "forwarding it now and will tell you where it was delivered.")
    else:
        text = (f"The moderators reviewed your {about} about {target} and closed it "
                "without forwarding it.")
        if to_reporter:
            text += f"\n\nMessage from the moderators: {to_reporter}"
    return NewNotice(report.reporter_id, DECISION, body=text,
                     title=f"Report #{report.number}: {'forwarded' if forwarded else 'closed'}")


def target_name(report: Report) -> str:
    return report.target_bungie_name or report.target_game_name or (
        f"<@{report.target_discord_id}>" if report.target_discord_id else report.target_key
    )


def _required(text: str | None, what: str, limit: int) -> str:
    value = (text or "").strip()
    if not value:
        raise InvalidInput(t('Please give {what}.', what=what))
    if len(value) > limit:
        raise InvalidInput(t('Please keep it under {limit} characters.', limit=limit))
    return value


def _join(items: list[str]) -> str:
    if not items:
        return "nowhere"
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
