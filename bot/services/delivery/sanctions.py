"""Delivering a report to the game backend's sanctions API.

The reporter files it with their own game token when their link works; otherwise
Warden's service token files it on their behalf with ``source_player_uuid``.
Warden's report id and random id travel in ``custom_data``; the random id is the
only way to find the report upstream again (row ids repeat after a restore), so any
attempt that may have landed is looked up by it before a new one is sent.
"""

from __future__ import annotations

import logging
from uuid import UUID

from bot.apis.errors import (
    AmbiguousSend,
    ApiError,
    AuthError,
    InvalidRequest,
    MissingPermission,
    NotFound,
    Throttled,
    Unavailable,
)
from bot.apis.sanctions import (
    WARDEN_REPORT_ID_KEY,
    WARDEN_REPORT_UUID_KEY,
    CreateReport,
    ReportResult,
    SanctionsClient,
)
from bot.domain import Destination, Evidence, NewReport, Provider, Reason, Report
from bot.errors import UserFacingError
from bot.i18n import t
from bot.services.delivery.outbox import (
    Attempt,
    Failed,
    Outcome,
    Retry,
    Sent,
    may_have_landed,
    not_sent,
)
from bot.services.delivery.registry import (
    DestinationContext,
    DestinationSpec,
    PlannedDelivery,
    unconfigured,
)
from bot.services.linking.service import LinkingService
from bot.services.reporting.typed_input import custom_value
from bot.services.status import CheckItem, CheckState

log = logging.getLogger(__name__)

NAME = t("Game backend")


def report_body(report: Report, *, source: UUID | None) -> CreateReport:
    """The create-report request for ``report`` (``source`` only with the service token)."""
    custom = {
        WARDEN_REPORT_ID_KEY: str(report.id),
        "warden_report_number": str(report.number),
        "discord_guild_id": str(report.guild_id),
    }
    if report.uuid is not None:
        custom[WARDEN_REPORT_UUID_KEY] = report.uuid
    if report.activity_id is not None:
        custom["destiny_activity_id"] = str(report.activity_id)
    evidence = _evidence_text(report.evidence)
    if evidence:
        custom["evidence"] = custom_value(evidence)
    return CreateReport(
        reason=Reason(report.reason),
        source_player_uuid=source,
        description=report.description or None,
        match_id=report.match_id,
        custom_data=custom,
    )


def _evidence_text(evidence: tuple[Evidence, ...]) -> str:
    lines: list[str] = []
    for item in evidence:
        if item.kind == "message":
            who = f" by {item.author_name or item.author_id}" if item.author_id else ""
            lines.append(t('Discord message{who}: {value}', who=who, value=item.url or '').rstrip())
            if item.text:
                lines.append(f"  text: {item.text}")
        elif item.url:
            lines.append(f"attachment {item.filename or ''}: {item.url}".replace("  ", " "))
    return "\n".join(lines)


class SanctionsSender:
    destination = Destination.SANCTIONS

    def __init__(self, client: SanctionsClient, *, linking: LinkingService | None) -> None:
        self._client = client
        self._linking = linking

    async def deliver(self, attempt: Attempt) -> Outcome:
        report = attempt.report
        if report.target_player_uuid is None or report.reporter_player_uuid is None:
            return Failed(not_sent(t("the report names no game player on one side")))
        target = UUID(report.target_player_uuid)
        source = UUID(report.reporter_player_uuid)
        token = await self._player_token(report.reporter_id)
        if attempt.earlier_may_have_landed:
            checked = await self._reconcile(report, source, token)
            if checked is not None:
                return checked
        try:
            result, via = await self._create(report, target, source, token)
        except MissingPermission as exc:
            return Failed(not_sent(t(
                "the game backend refused Warden's credentials for filing reports on players' "
                "behalf (they need sanction:report:create:any); ask the operator [{code}]",
                code=exc.code or "insufficient_permissions")))
        except NotFound as exc:
            return Failed(not_sent(t("the game backend has no player `{player}` [{code}]",
                                     player=target, code=exc.code)))
        except InvalidRequest as exc:
            return Failed(not_sent(
                t("the game backend refused the report ({field}): {message}",
                  field=exc.field, message=exc.message) if exc.field else
                t("the game backend refused the report: {message}", message=exc.message)))
        except Throttled as exc:
            return Retry(not_sent(t("the game backend asked Warden to slow down")),
                         after=exc.retry_after)
        except AmbiguousSend as exc:
            # The API client's own words say what happened (and that it may have landed).
            return Retry(may_have_landed(exc.message))
        except Unavailable as exc:
            return Retry(not_sent(t("the game backend is unavailable: {message}",
                                    message=exc.message)), after=exc.retry_after)
        except ApiError as exc:
            return Retry(not_sent(
                t("the game backend answered: {message} [{code}]", message=exc.message,
                  code=exc.code) if exc.code else
                t("the game backend answered: {message}", message=exc.message)))
        return Sent(result.report_id, {"via": via})

    async def _reconcile(self, report: Report, source: UUID, token: str | None) -> Outcome | None:
        """``Sent`` if an earlier attempt landed, None if it certainly did not, or what to
        do when that cannot be told yet (never "send again")."""
        try:
            found = await self._find(source, report, token)
        except MissingPermission as exc:
            return Failed(may_have_landed(t(
                "an earlier attempt may have reached the game backend, and Warden may not read "
                "sent reports to check, so it is not sent again (a moderator can look upstream "
                "for warden_report_uuid {uuid}, warden_report_id {report_id}) [{code}]",
                uuid=report.uuid or "-", report_id=str(report.id),
                code=exc.code or "insufficient_permissions")))
        except ApiError as exc:
            # Still unknown: the next attempt checks again before anything is sent.
            return Retry(may_have_landed(t(
                "could not check the game backend for an earlier attempt ({message})",
                message=exc.message)), after=getattr(exc, "retry_after", None))
        if found is None:
            return None
        log.info("sanctions: report %s had landed as %s; not sending again", report.id,
                 found.report_id)
        return Sent(found.report_id, {"reconciled": True})

    async def _player_token(self, reporter_id: int) -> str | None:
        """The reporter's own game token, or None to use Warden's service token."""
        if self._linking is None:
            return None
        try:
            return await self._linking.access_token(reporter_id, Provider.GAME)
        except (UserFacingError, ApiError) as exc:
            # Unlinked, broken or not refreshable now: the service token speaks for them.
            log.info("sanctions: reporter %s has no usable game token (%s); using the service "
                     "token", reporter_id, type(exc).__name__)
            return None

    async def _find(self, source: UUID, report: Report, token: str | None) -> ReportResult | None:
        warden_id = str(report.id)
        if token is not None:
            try:
                return await self._client.find_sent_report(
                    source, warden_id, warden_report_uuid=report.uuid, player_token=token)
            except AuthError as exc:
                log.info("sanctions: player token refused while checking (%s); checking with "
                         "the service token", exc.code)
        return await self._client.find_sent_report(source, warden_id,
                                                   warden_report_uuid=report.uuid)

    async def _create(
        self, report: Report, target: UUID, source: UUID, token: str | None
    ) -> tuple[ReportResult, str]:
        if token is not None:
            try:
                body = report_body(report, source=None)
                return await self._client.create_report(target, body, player_token=token), "player"
            except AuthError as exc:
                # A refused token means the request was not processed: safe to file it
                # with the service token instead.
                log.info("sanctions: reporter %s's token refused (%s); using the service token",
                         report.reporter_id, exc.code)
        body = report_body(report, source=source)
        return await self._client.create_report(target, body), "service"


async def plan(report: NewReport) -> PlannedDelivery:
    dest, name = Destination.SANCTIONS, NAME
    if report.reporter_player_uuid is None:
        return PlannedDelivery(dest, name, False, t("link your game account with `/link game`"),
                               Provider.GAME)
    if report.target_player_uuid is None:
        return PlannedDelivery(dest, name, False, t("I don't know this player's game account: "
                                                    "report them by game player id to send it "
                                                    "there"))
    return PlannedDelivery(dest, name, True)


def sanctions_destination(ctx: DestinationContext) -> DestinationSpec:
    client = ctx.sanctions
    if client is None:
        return unconfigured(
            Destination.SANCTIONS, NAME, detail=t("reports are not sent to the game backend."),
            # i18n: completes "The bot's operator can ..."
            fix=t("set SANCTIONS_API_BASE_URL, SANCTIONS_CLIENT_ID and SANCTIONS_CLIENT_SECRET "
                  "to forward reports to the game backend"),
        )

    async def probe() -> list[CheckItem]:
        try:
            result = await client.probe()
        except MissingPermission as exc:
            return [CheckItem(CheckState.PROBLEM, NAME, f"{exc.message}; ask the studio for "
                              "sanction:report:create:any and sanction:report:read:source-any")]
        except AuthError as exc:
            return [CheckItem(CheckState.PROBLEM, NAME, f"service token refused ({exc.message}); "
                              "check SANCTIONS_CLIENT_ID and SANCTIONS_CLIENT_SECRET")]
        except ApiError as exc:
            return [CheckItem(CheckState.PROBLEM, NAME, f"cannot reach the API ({exc}); check "
                              "SANCTIONS_API_BASE_URL and the network")]
        state = CheckState.OK if result.ok else CheckState.PROBLEM
        return [CheckItem(state, NAME, text) for text in result.lines()]

    async def setup_item() -> CheckItem:
        return CheckItem(CheckState.OK, NAME, t("sanctions API credentials set."))

    return DestinationSpec(
        key=Destination.SANCTIONS, name=NAME, configured=True, plan=plan,
        sender=SanctionsSender(client, linking=ctx.linking), probe=probe, setup_item=setup_item,
        links=(Provider.GAME,),
    )
