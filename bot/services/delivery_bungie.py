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
import time
from collections.abc import Callable

from bot.apis.bungie import BungieClient, handoff_url
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
from bot.domain import Destination, Provider, Reason
from bot.errors import UserFacingError
from bot.notify import DmOutcome, Notifier
from bot.services.bungie_reasons import ReasonCatalog
from bot.services.bungie_resend import ALREADY_REPORTED, BungieResend
from bot.services.linking import LinkingService
from bot.services.outbox import (
    MAY_HAVE_LANDED,
    NOT_SENT,
    Attempt,
    Failed,
    HandedOff,
    Outcome,
    Retry,
    Sent,
)
from bot.services.report_text import handoff_notice
from bot.services.reports import BUNGIE_MODE_KEY, effective_bungie_mode
from bot.settings import BungieReportMode, Settings
from bot.store import Store
from bot.store.reports import Report

log = logging.getLogger(__name__)

SCOPE_NOT_GRANTED = "2108"
SUBMISSION_FAILED = "2702"


class BungieSender:
    destination = Destination.BUNGIE

    def __init__(
        self,
        client: BungieClient,
        *,
        store: Store,
        settings: Settings,
        linking: LinkingService | None,
        notifier: Callable[[], Notifier | None],
        reasons: ReasonCatalog,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._store = store
        self._settings = settings
        self._linking = linking
        self._notifier = notifier
        self._reasons = reasons
        self._clock = clock
        self._learn_lock = asyncio.Lock()
        self._resend = BungieResend(store, enabled=settings.bungie_resend_ambiguous)

    async def deliver(self, attempt: Attempt) -> Outcome:
        report = attempt.report
        if report.activity_id is None or report.target_character_id is None:
            return Failed(f"{NOT_SENT}the report has no checked activity and character")
        url = handoff_url(self._settings.bungie_handoff_url_template, report.activity_id,
                          report.target_character_id)
        resending = attempt.earlier_may_have_landed
        if resending:
            refusal = await self._resend.refusal(attempt)
            if refusal is not None:
                return Failed(refusal)
        mode = await effective_bungie_mode(self._store, self._settings, self._linking)
        if mode is BungieReportMode.HANDOFF:
            return await self._hand_off(report, url, "Warden files Bungie.net reports by hand-off")
        assert self._linking is not None  # effective_bungie_mode guarantees it
        try:
            token = await self._linking.access_token(report.reporter_id, Provider.BUNGIE)
        except UserFacingError:
            return await self._hand_off(report, url, "the reporter's Bungie.net link does not "
                                                     "work any more")
        except ApiError as exc:
            return Retry(f"{NOT_SENT}could not renew the reporter's Bungie.net sign-in: "
                         f"{exc.message}", after=getattr(exc, "retry_after", None))
        reason = (await self._reasons.table())[Reason(report.reason)]
        try:
            await self._client.report_player(
                token, report.activity_id, category_hash=reason.category_hash,
                reason_hash=reason.reason_hash, offending_character_id=report.target_character_id,
            )
        except MissingPermission as exc:
            if exc.code == SCOPE_NOT_GRANTED:
                await self._learn_handoff()
            return await self._hand_off(report, url, f"Bungie.net refused direct reports "
                                                     f"[{exc.code}]")
        except AuthError as exc:
            return await self._hand_off(report, url, f"Bungie.net refused the reporter's "
                                                     f"sign-in [{exc.code}]")
        except Throttled as exc:
            return Retry(f"{NOT_SENT}Bungie.net asked Warden to slow down", after=exc.retry_after)
        except AmbiguousSend as exc:
            if self._resend.enabled and not resending:
                return Retry(f"{MAY_HAVE_LANDED}Bungie.net did not answer ({exc.message}); it "
                             "is sent once more (Bungie.net refuses a repeat of one that landed)")
            return Failed(f"{MAY_HAVE_LANDED}Bungie.net did not answer ({exc.message}); it may "
                          "have been filed and is not filed again, to avoid a duplicate")
        except Unavailable as exc:
            return Retry(f"{NOT_SENT}Bungie.net is unavailable: {exc.message}",
                         after=exc.retry_after)
        except InvalidRequest as exc:
            if exc.code == SUBMISSION_FAILED:
                return Retry(f"{NOT_SENT}Bungie.net could not take the report now: {exc.message}")
            return Failed(f"{NOT_SENT}Bungie.net refused the report: {exc.message}")
        except NotFound as exc:
            return Failed(f"{NOT_SENT}Bungie.net no longer has the activity: {exc.message}")
        except ApiError as exc:
            if exc.code == ALREADY_REPORTED:
                # Only a repeat is refused so: an earlier attempt of this report landed.
                return Sent(None, {"mode": "direct", "category": reason.category_name,
                                   "bungie_reason": reason.reason_name,
                                   "already_reported": True})
            code = f" [{exc.code}]" if exc.code else ""
            return Retry(f"{NOT_SENT}Bungie.net answered: {exc.message}{code}")
        return Sent(None, {"mode": "direct", "category": reason.category_name,
                           "bungie_reason": reason.reason_name})

    async def _hand_off(self, report: Report, url: str, why: str) -> Outcome:
        assert report.activity_id is not None
        notifier = self._notifier()
        dm = DmOutcome.FAILED
        if notifier is not None:
            dm = await notifier.send_dm(
                report.reporter_id, handoff_notice(report.number, report.activity_id, url)
            )
        log.info("bungie: report %s handed off to its reporter (%s); DM %s", report.id, why,
                 dm.value)
        return HandedOff(url, {"why": why, "dm": dm.value})

    async def _learn_handoff(self) -> None:
        """Bungie says this application lacks the report scope: remember it, once."""
        if self._settings.bungie_report_mode is not BungieReportMode.AUTO:
            return
        async with self._learn_lock:
            current = await self._store.kv.get(BUNGIE_MODE_KEY)
            if isinstance(current, dict) and current.get("mode") == "handoff":
                return
            await self._store.kv.set(
                BUNGIE_MODE_KEY,
                {"mode": BungieReportMode.HANDOFF.value, "since": self._clock(),
                 "because": "Bungie.net answered 2108 (AccessNotPermittedByApplicationScope)"},
                audit_action="bungie.report_mode_changed",
            )
        log.warning("bungie: this application may not file reports (2108); switching the "
                    "installation to hand-off links")
