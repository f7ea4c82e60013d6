"""The review post as plain data: what moderators see about one report.

``build_card`` turns a stored report, its deliveries, notes and audit history into a
``ReviewCard``; the Discord side only lays it out. Nothing here knows about Discord,
so the same card backs the review-channel post, ``/reports show`` and the purge
scrubber.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.domain import (
    UNDECIDED_CASE_STATUSES,
    ActionKind,
    Case,
    CaseStatus,
    Delivery,
    DeliveryStatus,
    Note,
    Reason,
    Report,
    action_done,
)
from bot.i18n import t
from bot.i18n.text import from_json
from bot.services.delivery.registry import DestinationNames
from bot.services.reporting.activity_modes import mode_name
from bot.store.audit import AuditEntry
from bot.store.report_views import WithHistory

# Bungie's public pages. The PGCR page is the one the report hand-off link builds on.
BUNGIE_PROFILE_URL = "https://www.bungie.net/7/en/User/Profile/{membership_type}/{membership_id}"
BUNGIE_PGCR_URL = "https://www.bungie.net/en/PGCR/{activity_id}"

STATUS_LABELS: dict[str, str] = {
    CaseStatus.OPEN: t("Open"),
    CaseStatus.CLAIMED: t("Claimed"),
    CaseStatus.RESOLVED: t("Resolved"),
    CaseStatus.DISMISSED: t("Dismissed"),
}

STATUS_WORDS: dict[str, str] = {
    # i18n: a case's state inside a sentence ("The case of report #3 is already claimed.")
    CaseStatus.OPEN: t("open"),
    CaseStatus.CLAIMED: t("claimed"),
    CaseStatus.RESOLVED: t("resolved"),
    CaseStatus.DISMISSED: t("dismissed"),
}

DELIVERY_LABELS: dict[str, str] = {
    DeliveryStatus.HELD: t("waiting for a moderator's approval"),
    DeliveryStatus.PENDING: t("queued"),
    DeliveryStatus.IN_FLIGHT: t("sending"),
    DeliveryStatus.SENT: t("sent"),
    DeliveryStatus.HANDED_OFF: t('handed off to the reporter'),
    DeliveryStatus.FAILED: t("failed"),
    DeliveryStatus.SKIPPED: t('not sent'),
}

_SHOWS_ERROR = (DeliveryStatus.FAILED, DeliveryStatus.PENDING, DeliveryStatus.SKIPPED)

# Review posts show the newest history lines; /reports export has all of them.
HISTORY_LINES = 12


class ReviewAction(enum.StrEnum):
    """A button on the review post. The value is part of the button's custom_id."""

    CLAIM = "claim"
    UNCLAIM = "unclaim"
    APPROVE = "approve"
    RESOLVE = "resolve"
    DISMISS = "dismiss"
    ASK = "ask"
    RETRY = "retry"


NO_ACTION = t("no action")


def outcome_label(case: Case) -> str | None:
    """The case's outcome as moderators read it."""
    if case.status is CaseStatus.DISMISSED:
        return STATUS_WORDS[CaseStatus.DISMISSED]
    if case.outcome is None:
        return None
    return case.outcome.action.label if case.outcome.action else NO_ACTION


@dataclass(frozen=True)
class CaseReportView:
    """One member's report in the case (staff only: it names the reporter)."""

    report_id: int
    number: int
    reporter_id: int
    description: str | None
    at: float


@dataclass(frozen=True)
class EarlierCaseView:
    case_id: int
    at: float
    outcome: str


@dataclass(frozen=True)
class TargetView:
    """The reported player on every side Warden knows about."""

    discord_id: int | None
    bungie_name: str | None
    bungie_membership_id: int | None
    bungie_membership_type: int | None
    bungie_character_id: int | None
    bungie_profile_url: str | None
    game_name: str | None
    player_uuid: str | None

    @property
    def display_name(self) -> str:
        if self.bungie_name or self.game_name:
            return self.bungie_name or self.game_name or ""
        if self.discord_id:
            return t('Discord user {discord_id}', discord_id=self.discord_id)
        return t('unknown player')


@dataclass(frozen=True)
class ReporterView:
    """Staff only: never rendered anywhere a non-moderator can read it."""

    discord_id: int
    destiny_membership_id: int | None
    player_uuid: str | None


@dataclass(frozen=True)
class ActivityView:
    activity_id: int | None
    mode: str | None
    map_hash: int | None
    period: str | None
    match_id: str | None
    pgcr_url: str | None


@dataclass(frozen=True)
class EvidenceView:
    kind: str
    label: str
    url: str | None
    text: str | None
    author_id: int | None
    size: int | None
    # "copied" (re-uploaded with the review post), or why not; None before the first post.
    copy_state: str | None


@dataclass(frozen=True)
class DeliveryView:
    destination: str
    label: str
    status: DeliveryStatus
    status_label: str
    attempts: int
    upstream_id: str | None
    handoff_url: str | None
    error: str | None

    @property
    def retryable(self) -> bool:
        return self.status == DeliveryStatus.FAILED


@dataclass(frozen=True)
class HistoryLine:
    at: float
    actor_id: int | None
    text: str


@dataclass(frozen=True)
class NoteView:
    at: float
    kind: str  # "info_request" | "reply" | "note"
    author_id: int | None
    body: str


@dataclass(frozen=True)
class ReviewCard:
    report_id: int
    guild_id: int
    number: int
    status: CaseStatus
    status_label: str
    reason: str
    reason_label: str
    created_at: float
    target: TargetView
    # None where the card is shown to people who must not learn who reported.
    reporter: ReporterView | None
    activity: ActivityView | None
    description: str | None
    evidence: tuple[EvidenceView, ...]
    deliveries: tuple[DeliveryView, ...]
    claimed_by: int | None
    decided_by: int | None
    decision_reason: str | None
    notes: tuple[NoteView, ...]
    history: tuple[HistoryLine, ...]
    history_total: int
    purged: bool
    actions: tuple[ReviewAction, ...] = field(default_factory=tuple)
    case_id: int = 0
    reports: tuple[CaseReportView, ...] = ()
    """Every report of the case, the lead first (two or more: several members reported)."""
    failed: tuple[tuple[int, str, str], ...] = ()
    """(report id, destination, label) of each failed delivery of the case: Retry."""
    earlier_cases: tuple[EarlierCaseView, ...] = ()
    earlier_total: int = 0
    outcome: str | None = None
    language: str | None = None
    """The server's chosen language for staff posts; None: its Discord preferred locale."""

    @property
    def retry_destinations(self) -> tuple[str, ...]:
        return tuple(d for _, d, _ in self.failed)

    @property
    def awaiting_approval(self) -> bool:
        return any(d.status == DeliveryStatus.HELD for d in self.deliveries)


def reason_label(value: str) -> str:
    try:
        return Reason(value).label
    except ValueError:
        return value


def bungie_profile_url(membership_type: int | None, membership_id: int | None) -> str | None:
    if membership_type is None or membership_id is None:
        return None
    return BUNGIE_PROFILE_URL.format(
        membership_type=membership_type, membership_id=membership_id
    )


def available_actions(case: Case, deliveries: Sequence[Delivery],
                      purged: bool) -> tuple[ReviewAction, ...]:
    """The buttons the case's state allows (who may press them is decided when they are
    pressed): Claim or Unclaim, Resolve, Dismiss and Ask while undecided, Approve while
    deliveries are held (approve mode), Retry for a failed delivery."""
    actions: list[ReviewAction] = []
    undecided = case.status in UNDECIDED_CASE_STATUSES
    if case.status is CaseStatus.OPEN:
        actions.append(ReviewAction.CLAIM)
    if case.status is CaseStatus.CLAIMED:
        actions.append(ReviewAction.UNCLAIM)
    if case.status is not CaseStatus.DISMISSED and any(
            d.status is DeliveryStatus.HELD for d in deliveries):
        actions.append(ReviewAction.APPROVE)
    if undecided:
        actions.append(ReviewAction.RESOLVE)
        actions.append(ReviewAction.DISMISS)
        if not purged:
            actions.append(ReviewAction.ASK)
    if any(d.status is DeliveryStatus.FAILED for d in deliveries):
        actions.append(ReviewAction.RETRY)
    return tuple(actions)


def build_card(
    report: Report,
    deliveries: Sequence[Delivery],
    notes: Sequence[Note],
    history: Sequence[AuditEntry],
    names: DestinationNames,
    found: WithHistory | None = None,
) -> ReviewCard:
    case = found.case if found is not None else None
    if case is None:  # a report read alone (purged and gone): a case of its own
        case = Case(id=report.case_id or report.id, guild_id=report.guild_id,
                    lead_report_id=report.id, target_key=report.target_key,
                    activity_id=report.activity_id, status=CaseStatus.OPEN, claimed_by=None,
                    decided_by=None, outcome=None, note=None, created_at=report.created_at,
                    updated_at=report.updated_at, decided_at=None)
    members = (found.case_reports if found is not None and found.case_reports else [report])
    every = (found.case_deliveries if found is not None and found.case_reports
             else list(deliveries))
    numbers = {m.id: m.number for m in members}
    copies = _evidence_copies(history)
    lines = [
        # The reporter's own steps carry no name: the Reporter field (staff only) says who.
        dataclasses.replace(line, actor_id=None) if line.actor_id == report.reporter_id else line
        for entry in history
        if (line := history_line(entry, names)) is not None
    ]
    return ReviewCard(
        report_id=report.id,
        guild_id=report.guild_id,
        number=report.number,
        status=case.status,
        status_label=STATUS_LABELS.get(case.status, case.status),
        reason=report.reason,
        reason_label=reason_label(report.reason),
        created_at=report.accepted_at or report.created_at,
        target=TargetView(
            discord_id=report.target_discord_id,
            bungie_name=report.target_bungie_name,
            bungie_membership_id=report.target_bungie_membership_id,
            bungie_membership_type=report.target_bungie_membership_type,
            bungie_character_id=report.target_character_id,
            bungie_profile_url=bungie_profile_url(
                report.target_bungie_membership_type, report.target_bungie_membership_id
            ),
            game_name=report.target_game_name,
            player_uuid=report.target_player_uuid,
        ),
        reporter=ReporterView(
            discord_id=report.reporter_id,
            destiny_membership_id=report.reporter_destiny_membership_id,
            player_uuid=report.reporter_player_uuid,
        ),
        activity=_activity(report),
        description=report.description,
        evidence=tuple(
            EvidenceView(
                kind=e.kind,
                label=e.filename or ("message" if e.kind == "message" else e.kind),
                url=e.url,
                text=e.text,
                author_id=e.author_id,
                size=e.size,
                copy_state=copies.get(str(i)) if e.kind == "attachment" else None,
            )
            for i, e in enumerate(report.evidence)
        ),
        deliveries=tuple(
            DeliveryView(
                destination=d.destination,
                label=names(d.destination) if len(members) == 1 else
                t("{destination} (#{number})", destination=names(d.destination),
                  number=numbers.get(d.report_id, '?')),
                status=d.status,
                status_label=DELIVERY_LABELS.get(d.status, d.status),
                attempts=d.attempts,
                upstream_id=d.upstream_id,
                handoff_url=d.handoff_url,
                error=d.last_error if d.status in _SHOWS_ERROR else None,
            )
            for d in every
        ),
        claimed_by=case.claimed_by if case.status is CaseStatus.CLAIMED else None,
        decided_by=case.decided_by,
        decision_reason=case.note,
        notes=tuple(NoteView(n.created_at, n.kind, n.author_id, n.body) for n in notes),
        history=tuple(lines[-HISTORY_LINES:]),
        history_total=len(lines),
        purged=report.purged_at is not None,
        actions=available_actions(case, every, report.purged_at is not None),
        case_id=case.id,
        reports=tuple(CaseReportView(m.id, m.number, m.reporter_id, m.description,
                                     m.accepted_at or m.created_at) for m in members),
        failed=tuple((d.report_id, d.destination, names(d.destination)) for d in every
                     if d.status is DeliveryStatus.FAILED),
        earlier_cases=tuple(
            EarlierCaseView(c.id, c.decided_at or c.created_at,
                            outcome_label(c) or STATUS_WORDS[c.status])
            for c in (found.earlier_cases if found is not None else [])),
        earlier_total=found.earlier_total if found is not None else 0,
        outcome=outcome_label(case),
    )


def _activity(report: Report) -> ActivityView | None:
    if report.activity_id is None and report.match_id is None:
        return None
    return ActivityView(
        activity_id=report.activity_id,
        mode=mode_name(report.activity_mode) if report.activity_mode is not None else None,
        map_hash=report.activity_hash,
        period=report.activity_period,
        match_id=report.match_id,
        pgcr_url=(
            BUNGIE_PGCR_URL.format(activity_id=report.activity_id)
            if report.activity_id is not None
            else None
        ),
    )


def _evidence_copies(history: Sequence[AuditEntry]) -> dict[str, str]:
    """Evidence position -> "copied" or why not, from the newest ``review.posted`` row."""
    for entry in reversed(history):
        if entry.action == "review.posted":
            raw = entry.details.get("evidence", {})
            return {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
    return {}


def history_line(entry: AuditEntry, names: DestinationNames) -> HistoryLine | None:
    """One human line per audit row about a report; None for rows not worth showing."""
    d = entry.details
    dest = names(str(d.get("destination") or "") or None)

    actor = entry.actor_id
    text: str | None
    match entry.action:
        case "report.accepted":
            text = t('Report received')
        case "report.claimed" | "case.claimed":
            text = STATUS_LABELS[CaseStatus.CLAIMED]
        case "report.unclaimed" | "case.unclaimed":
            text = t('Released the claim')
        case "report.forwarded":
            text = t('Forwarded automatically (auto mode)') if d.get("automatic") else (
                t('Approved and forwarded')
            )
        case "report.dismissed" | "case.dismissed":
            text = (t("Dismissed: {reason}", reason=d["reason"]) if d.get("reason")
                    else STATUS_LABELS[CaseStatus.DISMISSED])
        case "case.resolved":
            kind = str(d.get("action"))
            outcome = (ActionKind(kind).label if kind in ActionKind._value2member_map_
                       else NO_ACTION)
            text = (t("Resolved: {outcome} ({note})", outcome=outcome, note=d["note"])
                    if d.get("note") else t("Resolved: {outcome}", outcome=outcome))
        case "member.warn" | "member.timeout" | "member.kick" | "member.ban":
            done = action_done(ActionKind(entry.action.removeprefix("member.")),
                               seconds=_int(d.get("seconds")),
                               delete_days=_int(d.get("delete_message_days")) or 0)
            text = t("<@{member_id}> {summary}: {reason}", member_id=d.get("member_id"),
                     summary=done, reason=d.get("reason") or "")
        case "report.info_request":
            text = t('Asked the reporter for more information')
        case "report.reply":
            text = t('The reporter answered')
        case "report.note":
            text = t('Added a note')
        case "delivery.sent":
            text = t('Sent to {dest}', dest=dest)
        case "delivery.handed_off":
            text = t('{dest}: hand-off link given to the reporter', dest=dest)
        case "delivery.failed":
            text = (t('{dest} delivery failed: {value}', dest=dest, value=_error(d))
                    if d.get('error') else t('{dest} delivery failed', dest=dest))
        case "delivery.skipped":
            text = (t('{dest}: not sent ({value})', dest=dest, value=_error(d))
                    if d.get('error') else t('{dest}: not sent', dest=dest))
        case "delivery.retry_scheduled":
            text = (t('{dest}: will retry ({value})', dest=dest, value=_error(d))
                    if d.get('error') else t('{dest}: will retry', dest=dest))
        case "delivery.resent":
            text = t("{dest}: the answer was lost, so it is sent once more", dest=dest)
        case "delivery.recovered":
            text = t("{dest}: an attempt cut short by a restart; it is checked before any "
                     "resend", dest=dest)
        case "delivery.requeued":
            text = t('Retry of the {dest} delivery requested', dest=dest)
        case "review.posted" | "review.reposted":
            text = None
        case _:
            text = entry.action
    if text is None:
        return None
    return HistoryLine(entry.at, actor, text)


def _error(details: Mapping[str, Any]) -> str:
    """A delivery row's error: its message (read in the reader's language) when the row
    stored one, else the English it was written with (rows from before)."""
    words = details.get("error_words")
    return from_json(words) if words is not None else str(details["error"])


def _int(value: object) -> int | None:
    return value if isinstance(value, int) else None


def card_of(found: WithHistory | None, report: Report, names: DestinationNames) -> ReviewCard:
    """The card of a report read with its history; ``report`` alone if it is gone (purged)."""
    if found is None:
        return build_card(report, [], [], [], names)
    return build_card(found.report, found.deliveries, found.notes, found.history, names,
                      found)
