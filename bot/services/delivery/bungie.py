"""Delivering a report to Bungie.net: filed directly, or handed to the reporter.

Bungie reserves the report scope (BnetWrite) for few applications. When the
installation has it, the report is filed with the reporter's own token. When it
does not (the operator says ``handoff``, or Bungie answered 2108 under ``auto``),
the reporter gets a DM with the Bungie.net page for the already-checked activity
and offender, and the delivery is ``handed_off``.

Bungie offers no way to ask whether a report landed, but it refuses a repeat of one
that did (1403, counted as delivered): an attempt whose answer was lost is sent once
more by default (``bungie_resend``), and fails with a reason a moderator can read
after that.
"""

from __future__ import annotations

import asyncio
import logging

from bot.apis.bungie import BungieClient, handoff_url, parse_reason_map
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
from bot.domain import Destination, NewReport, Provider, Reason, Report
from bot.errors import UserFacingError
from bot.i18n import t
from bot.notify import Notifier
from bot.services.delivery.bungie_mode import BungieMode
from bot.services.delivery.bungie_reasons import ReasonCatalog
from bot.services.delivery.bungie_resend import ALREADY_REPORTED, BungieResend
from bot.services.delivery.outbox import (
    Attempt,
    Failed,
    HandedOff,
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
from bot.services.reporting.text import handoff_notice
from bot.services.status import CheckItem, CheckState
from bot.settings import Settings

log = logging.getLogger(__name__)

FILED_AS_WAIT = 3.0
"""Seconds a draft waits for Bungie's category and reason names before going without."""

NAME = "Bungie.net"
SCOPE_NOT_GRANTED = "2108"
SUBMISSION_FAILED = "2702"


class BungieSender:
    destination = Destination.BUNGIE

    def __init__(
        self,
        client: BungieClient,
        *,
        settings: Settings,
        mode: BungieMode,
        linking: LinkingService | None,
        notifier: Notifier,
        reasons: ReasonCatalog,
        resend: BungieResend,
    ) -> None:
        self._client = client
        self._settings = settings
        self._mode = mode
        self._linking = linking
        self._notifier = notifier
        self._reasons = reasons
        self._resend = resend

    async def deliver(self, attempt: Attempt) -> Outcome:
        report = attempt.report
        if report.activity_id is None or report.target_character_id is None:
            return Failed(not_sent(t("the report has no checked activity and character")))
        url = handoff_url(self._settings.bungie_handoff_url_template, report.activity_id,
                          report.target_character_id)
        resending = attempt.earlier_may_have_landed
        if resending:
            refusal = await self._resend.refusal(attempt)
            if refusal is not None:
                return Failed(refusal)
        if await self._mode.hands_off():
            return await self._hand_off(report, url, "Warden files Bungie.net reports by hand-off")
        assert self._linking is not None  # without linking the mode is always hand-off
        try:
            token = await self._linking.access_token(report.reporter_id, Provider.BUNGIE)
        except UserFacingError:
            return await self._hand_off(report, url, "the reporter's Bungie.net link does not "
                                                     "work any more")
        except ApiError as exc:
            return Retry(not_sent(t("could not renew the reporter's Bungie.net sign-in: "
                                    "{message}", message=exc.message)),
                         after=getattr(exc, "retry_after", None))
        reason = (await self._reasons.table())[Reason(report.reason)]
        try:
            await self._client.report_player(
                token, report.activity_id, category_hash=reason.category_hash,
                reason_hash=reason.reason_hash, offending_character_id=report.target_character_id,
            )
        except MissingPermission as exc:
            if exc.code == SCOPE_NOT_GRANTED:
                await self._mode.learn_handoff()
            return await self._hand_off(report, url, f"Bungie.net refused direct reports "
                                                     f"[{exc.code}]")
        except AuthError as exc:
            return await self._hand_off(report, url, f"Bungie.net refused the reporter's "
                                                     f"sign-in [{exc.code}]")
        except Throttled as exc:
            return Retry(not_sent(t("Bungie.net asked Warden to slow down")),
                         after=exc.retry_after)
        except AmbiguousSend as exc:
            if self._resend.enabled and not resending:
                return Retry(may_have_landed(t(
                    "Bungie.net did not answer ({message}); it is sent once more (Bungie.net "
                    "refuses a repeat of one that landed)", message=exc.message)))
            return Failed(may_have_landed(t(
                "Bungie.net did not answer ({message}); it may have been filed and is not "
                "filed again, to avoid a duplicate", message=exc.message)))
        except Unavailable as exc:
            return Retry(not_sent(t("Bungie.net is unavailable: {message}",
                                    message=exc.message)), after=exc.retry_after)
        except InvalidRequest as exc:
            if exc.code == SUBMISSION_FAILED:
                return Retry(not_sent(t("Bungie.net could not take the report now: {message}",
                                        message=exc.message)))
            return Failed(not_sent(t("Bungie.net refused the report: {message}",
                                     message=exc.message)))
        except NotFound as exc:
            return Failed(not_sent(t("Bungie.net no longer has the activity: {message}",
                                     message=exc.message)))
        except ApiError as exc:
            if exc.code == ALREADY_REPORTED:
                # Only a repeat is refused so: an earlier attempt of this report landed.
                return Sent(None, {"mode": "direct", "category": reason.category_name,
                                   "bungie_reason": reason.reason_name,
                                   "already_reported": True})
            return Retry(not_sent(
                t("Bungie.net answered: {message} [{code}]", message=exc.message, code=exc.code)
                if exc.code else t("Bungie.net answered: {message}", message=exc.message)))
        return Sent(None, {"mode": "direct", "category": reason.category_name,
                           "bungie_reason": reason.reason_name})

    async def _hand_off(self, report: Report, url: str, why: str) -> Outcome:
        assert report.activity_id is not None
        dm = await self._notifier.send_dm(
            report.reporter_id, handoff_notice(report.number, report.activity_id, url, NAME)
        )
        log.info("bungie: report %s handed off to its reporter (%s); DM %s", report.id, why,
                 dm.value)
        return HandedOff(url, {"why": why, "dm": dm.value})


async def plan(report: NewReport) -> PlannedDelivery:
    dest, name = Destination.BUNGIE, NAME
    if report.reporter_destiny_membership_id is None:
        return PlannedDelivery(dest, name, False,
                               t("link your Bungie.net account with `/link bungie`"),
                               Provider.BUNGIE)
    if report.activity_id is None:
        return PlannedDelivery(dest, name, False, t("Bungie.net only takes reports about one "
                                                    "activity: give the activity to report "
                                                    "there too"))
    if report.target_character_id is None:
        return PlannedDelivery(dest, name, False,
                               t("I don't know this player's Bungie.net account"))
    return PlannedDelivery(dest, name, True)


def bungie_destination(ctx: DestinationContext) -> DestinationSpec:
    settings = ctx.settings
    client = ctx.bungie
    if client is None:
        return unconfigured(
            Destination.BUNGIE, NAME, detail=t("reports are not sent to Bungie.net."),
            # i18n: completes "The bot's operator can ..."
            fix=t("set BUNGIE_API_KEY (and the OAuth client) to forward reports to Bungie.net"),
        )
    reasons = ReasonCatalog(client, ctx.store.kv, parse_reason_map(settings.bungie_reason_map))
    mode = ctx.bungie_mode

    async def planned(report: NewReport) -> PlannedDelivery:
        step = await plan(report)
        if step.included and await mode.hands_off():
            return PlannedDelivery(step.destination, step.label, True,
                                   note=t("you get a link to file it yourself"))
        return step

    looking_up: set[asyncio.Future[str | None]] = set()

    async def words(reason: Reason, language: str) -> str | None:
        try:
            return await reasons.shown(reason, language)
        except Exception:  # a line in the draft: never worth refusing the report for
            log.exception("could not word the Bungie report reason for a draft")
            return None

    async def filed_as(report: NewReport, language: str) -> str | None:
        # The first draft after a start (or in a new language) may find Bungie slow: the
        # draft does not wait for it; the look-up finishes on its own for the next one.
        look_up = asyncio.ensure_future(words(Reason(report.reason), language))
        looking_up.add(look_up)  # held until done, not left to the garbage collector
        look_up.add_done_callback(looking_up.discard)
        try:
            return await asyncio.wait_for(asyncio.shield(look_up), FILED_AS_WAIT)
        except TimeoutError:
            return None

    async def probe() -> list[CheckItem]:
        try:
            await client.get_manifest_version()
        except AuthError as exc:
            return [CheckItem(CheckState.PROBLEM, NAME, f"API key refused ({exc.message}); copy "
                              "the key from https://www.bungie.net/en/Application into "
                              "BUNGIE_API_KEY")]
        except ApiError as exc:
            return [CheckItem(CheckState.PROBLEM, NAME, f"cannot reach the API ({exc}); check "
                              "BUNGIE_API_BASE_URL and the network, or try again later")]
        table = await reasons.table()
        where = "live manifest" if table.source == "live" else "packaged snapshot"
        return [CheckItem(CheckState.OK, NAME, "API key accepted"),
                CheckItem(CheckState.OK, f"{NAME} report reasons",
                          f"loaded from the {where} (version {table.manifest_version})")]

    async def setup_item() -> CheckItem:
        described = await mode.describe()
        if not settings.bungie_oauth_enabled:
            return CheckItem(
                CheckState.INFO, NAME,
                t("API key set; {mode}. No OAuth client is set, so reporters cannot link "
                  "Bungie accounts and direct submission is impossible.", mode=described),
                t("The bot's operator sets BUNGIE_CLIENT_ID and BUNGIE_CLIENT_SECRET."),
            )
        return CheckItem(CheckState.OK, NAME, t("API key set; {mode}.", mode=described))

    sender = BungieSender(client, settings=settings, mode=mode, linking=ctx.linking,
                          notifier=ctx.notifier, reasons=reasons,
                          resend=BungieResend(ctx.store,
                                              enabled=settings.bungie_resend_ambiguous))
    return DestinationSpec(
        key=Destination.BUNGIE, name=NAME, configured=True, plan=planned, sender=sender,
        probe=probe, setup_item=setup_item,
        links=(Provider.BUNGIE,) if settings.bungie_oauth_enabled else (),
        filed_as=filed_as,
    )
