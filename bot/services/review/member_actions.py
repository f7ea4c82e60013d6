"""Warn, time out, kick or ban the reported member, from the review post or ``/case``.

The rules, in the order a moderator meets them: they must be one of this server's
moderators AND hold the Discord permission the action needs (the moderator role alone
never grants a kick or a ban); the reported player must be a member here; Warden must
hold that permission too, and stand above the member (not the owner, not a member whose
top role is at or above Warden's). Each refusal says exactly what is missing. Discord
itself can still refuse (50013): that gets the same message.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from bot.domain import (
    UNDECIDED_CASE_STATUSES,
    ActionKind,
    CaseOutcome,
    CaseStatus,
    NoteKind,
    Report,
    action_done,
)
from bot.errors import InvalidInput, NotAllowed
from bot.i18n import Text, joined, t
from bot.notify import DmOutcome, Notice, Notifier
from bot.services.events import Event, EventBus, EventKind
from bot.services.review.access import Moderators
from bot.services.review.lifecycle import ReportLifecycle
from bot.services.review.ports import (
    ActionResult,
    Actor,
    MemberAction,
    MemberActionRefused,
    MemberFacts,
    MemberModeration,
)
from bot.store import Store

REASON_MAX = 500  # Discord's audit-log reason is at most 512 characters
TIMEOUT_MIN = 60
TIMEOUT_MAX = 28 * 24 * 3600
BAN_DELETE_DAYS_MAX = 7
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"(\d+)\s*([smhdw])")
def parse_duration(text: str) -> int:
    """``"1h"``, ``"90m"``, ``"1d 12h"``, ``"600"`` (seconds) -> seconds, 60 s to 28 days."""
    value = text.strip().lower().replace(" ", "")
    if value.isdigit():
        seconds = int(value)
    else:
        parts = _DURATION.findall(value)
        if not parts or "".join(n + u for n, u in parts) != value:
            raise InvalidInput(t(
                "I could not read the duration {duration}: use e.g. 10m, 1h, 3d or 1d12h.",
                duration=repr(text.strip()[:20])))
        seconds = sum(int(n) * _UNITS[u] for n, u in parts)
    if not TIMEOUT_MIN <= seconds <= TIMEOUT_MAX:
        raise InvalidInput(t("A timeout lasts from 60 seconds to 28 days."))
    return seconds


@dataclass(frozen=True)
class MemberActionRequest:
    action: MemberAction
    reason: str
    timeout_seconds: int | None = None
    delete_message_days: int = 0


class MemberActions:
    def __init__(
        self,
        *,
        store: Store,
        events: EventBus,
        moderators: Moderators,
        moderation: MemberModeration,
        notifier: Notifier,
        lifecycle: ReportLifecycle,
    ) -> None:
        self._store = store
        self._events = events
        self._moderators = moderators
        self._moderation = moderation
        self._notifier = notifier
        self._lifecycle = lifecycle

    async def target_of(self, guild_id: int, case_id: int, actor: Actor) -> Report:
        """The case's lead report, for a moderator, when its player is someone Warden
        could act on and the case was not dismissed."""
        found = await self._moderators.case(guild_id, case_id, actor)
        report = next((r for r in found.reports if r.id == found.case.lead_report_id),
                      found.reports[0])
        if report.target_discord_id is None:
            raise InvalidInput(t(
                "Report #{number} names no Discord member, so there is no one here to act on.",
                number=report.number))
        if found.case.status is CaseStatus.DISMISSED:
            raise InvalidInput(t("Report #{number} was dismissed.", number=report.number))
        return report

    async def act_by_number(
        self, guild_id: int, number: int, actor: Actor, request: MemberActionRequest
    ) -> ActionResult:
        """``/case timeout number:12 ...``: the same as the button on report #12's post."""
        await self._moderators.require(guild_id, actor)
        report = await self._store.reports.by_number(guild_id, number)
        if report is None or report.accepted_at is None:
            raise InvalidInput(t("There is no report #{number} in this server.", number=number))
        return await self.act(guild_id, report.case_id or report.id, actor, request)

    async def act(
        self, guild_id: int, case_id: int, actor: Actor, request: MemberActionRequest
    ) -> ActionResult:
        action = request.action
        reason = (request.reason or "").strip()
        if not reason:
            raise InvalidInput(t("Please give a reason: it goes to Discord's audit log."))
        if len(reason) > REASON_MAX:
            raise InvalidInput(t("Please keep the reason under {limit} characters.",
                                 limit=REASON_MAX))
        if action.permission not in actor.permissions:
            raise NotAllowed(_moderator_lacks(action))
        report = await self.target_of(guild_id, case_id, actor)
        settings = await self._store.guilds.get(guild_id)
        member_id = report.target_discord_id
        assert member_id is not None  # target_of checked it
        facts = await self._moderation.facts(guild_id, member_id)
        _check_warden_can(action, facts, member_id)
        audit_reason = f"Report #{report.number}: {reason}"
        dm = await self._act(guild_id, member_id, report, request, audit_reason,
                             dm_first=settings.dm_before_removal)
        return await self._record(case_id, report, actor, request, dm)

    async def _act(
        self, guild_id: int, member_id: int, report: Report, request: MemberActionRequest,
        audit_reason: str, *, dm_first: bool,
    ) -> DmOutcome | None:
        """Do it through Discord; the member's DM outcome for a warning, kick or ban."""
        action = request.action
        dm: DmOutcome | None = None
        removal = action in (MemberAction.KICK, MemberAction.BAN)
        if action is MemberAction.WARN or (removal and dm_first):
            # After a kick or ban Warden shares no server with them, so no DM could arrive.
            dm = await self._notifier.send_dm(member_id, _member_notice(report, request))
        try:
            if action is MemberAction.TIMEOUT:
                seconds = request.timeout_seconds or 0
                if not TIMEOUT_MIN <= seconds <= TIMEOUT_MAX:
                    raise InvalidInput(t("A timeout lasts from 60 seconds to 28 days."))
                await self._moderation.timeout(guild_id, member_id, time.time() + seconds,
                                               audit_reason)
            elif action is MemberAction.KICK:
                await self._moderation.kick(guild_id, member_id, audit_reason)
            elif action is MemberAction.BAN:
                days = request.delete_message_days
                if not 0 <= days <= BAN_DELETE_DAYS_MAX:
                    raise InvalidInput(t("Messages can be deleted for 0 to 7 days back."))
                await self._moderation.ban(guild_id, member_id, audit_reason, days * 86400)
        except MemberActionRefused:
            raise NotAllowed(t(
                "Discord refused: Warden needs **{permission}**, and its highest role must be "
                "above <@{member_id}>'s highest role (the owner cannot be acted on). Nothing "
                "was changed.", permission=action.permission_label, member_id=member_id,
            )) from None
        return dm

    async def _record(
        self, case_id: int, report: Report, actor: Actor, request: MemberActionRequest,
        dm: DmOutcome | None,
    ) -> ActionResult:
        """The audit row of what Discord did (the member's id, the DM's outcome); an open
        case is resolved with the action (its reporters told), a decided one (or one another
        moderator claimed) gets a note."""
        action = request.action
        details: dict[str, object] = {"member_id": report.target_discord_id,
                                      "reason": request.reason.strip()}
        if request.timeout_seconds is not None and action is MemberAction.TIMEOUT:
            details["seconds"] = request.timeout_seconds
        if action is MemberAction.BAN:
            details["delete_message_days"] = request.delete_message_days
        if dm is not None:
            details["member_dm"] = dm.value
        await self._store.audit.record(
            f"member.{action.value}", guild_id=report.guild_id, actor_id=actor.user_id,
            report_id=report.id, details=details,
        )
        # The moderator's own words: what Discord did is the audit row's (history) line,
        # worded in the reader's language there.
        note = request.reason.strip()
        case = await self._store.cases.get(case_id)
        resolved: ActionResult | None = None
        # A case another moderator claimed stays theirs to resolve: the action is noted.
        if (case is not None and case.status in UNDECIDED_CASE_STATUSES
                and (actor.manages_server or case.claimed_by in (None, actor.user_id))):
            resolved = await self._lifecycle.resolve(
                report.guild_id, case_id, actor, CaseOutcome(ActionKind(action.value)),
                note=note)
        else:
            await self._store.reports.add_note(
                report.id, author_id=actor.user_id, kind=NoteKind.NOTE, body=note)
            await self._events.publish(Event(EventKind.REPORT_CHANGED, report.id))
        done = t("Report #{number}: <@{member_id}> {summary}.", number=report.number,
                 member_id=report.target_discord_id, summary=_summary(request))
        parts: list[Text | str] = [done]
        if dm is DmOutcome.SENT:
            parts.append(t("They were told by DM."))
        elif dm is not None:
            parts.append(t("Their DMs are closed, so they were not told."))
        if resolved is not None:
            parts.append(resolved.message or "")
            return ActionResult(resolved.report, joined(" ", parts), case=resolved.case)
        return ActionResult(report, joined(" ", parts))


def _summary(request: MemberActionRequest) -> Text:
    return action_done(ActionKind(request.action.value), seconds=request.timeout_seconds,
                       delete_days=request.delete_message_days)


def _moderator_lacks(action: MemberAction) -> Text:
    permission = action.permission_label
    if action is MemberAction.WARN:
        return t("To warn a member you need Discord's **{permission}** permission; the "
                 "moderator role alone is not enough.", permission=permission)
    if action is MemberAction.TIMEOUT:
        return t("To time out a member you need Discord's **{permission}** permission; the "
                 "moderator role alone is not enough.", permission=permission)
    if action is MemberAction.KICK:
        return t("To kick a member you need Discord's **{permission}** permission; the "
                 "moderator role alone is not enough.", permission=permission)
    return t("To ban a member you need Discord's **{permission}** permission; the "
             "moderator role alone is not enough.", permission=permission)


def _member_notice(report: Report, request: MemberActionRequest) -> Notice:
    what = {
        MemberAction.WARN: t("You have received a warning from the moderators."),
        MemberAction.KICK: t("You are being removed (kicked) from the server by the "
                             "moderators."),
        MemberAction.BAN: t("You are being banned from the server by the moderators."),
    }[request.action]
    return Notice(text=joined("\n\n", [what, t("Reason: {reason}",
                                                 reason=request.reason.strip())]),
                  title=t("A message from the moderators"))


def _check_warden_can(action: MemberAction, facts: MemberFacts, member_id: int) -> None:
    """Refuse before calling Discord, naming exactly what is missing."""
    if not facts.is_member:
        raise InvalidInput(t("<@{member_id}> is not a member of this server (any more).",
                             member_id=member_id))
    if action is MemberAction.WARN:
        return  # a DM needs no server permission
    if action.permission not in facts.bot_permissions:
        raise NotAllowed(t(
            "Warden lacks the **{permission}** permission in this server. Give its role that "
            "permission (Server Settings → Roles) and try again.",
            permission=action.permission_label))
    if facts.is_owner:
        raise NotAllowed(t("Nobody can act on the server's owner, Warden included."))
    if facts.top_role_position >= facts.bot_top_role_position:
        raise NotAllowed(t(
            "Warden's highest role ({bot_role}) is not above <@{member_id}>'s highest role "
            "({member_role}). Move Warden's role above it in Server Settings → Roles and try "
            "again.", bot_role=facts.bot_top_role_name, member_id=member_id,
            member_role=facts.top_role_name))
