"""When a Bungie.net report whose answer was lost may be filed again.

Bungie offers no way to ask whether a report landed. It does refuse a repeat of one
that did (``ReportAlreadyReported``, 1403), and a second report from the same member
about the same player in the same activity does far less harm than a report that
never arrived. So by default an ambiguous report is sent once more (a 1403 then
counts as delivered); ``BUNGIE_RESEND_AMBIGUOUS=false`` restores "never again".

The one automatic re-send is written to the audit trail before it is made, so a
crash in the middle of it cannot earn a second one. A moderator may still send a
"may have landed" failure again after confirming it (``RESEND_CONFIRMED``).
"""

from __future__ import annotations

from bot.domain import Destination
from bot.i18n import Text, t
from bot.services.delivery.outbox import Attempt, may_have_landed
from bot.store import Store
from bot.store.deliveries import RESEND_CONFIRMED

ALREADY_REPORTED = "1403"
"""Bungie's ``ReportAlreadyReported``: this member already reported this player here."""
RESENT_ACTION = "delivery.resent"


class BungieResend:
    def __init__(self, store: Store, *, enabled: bool) -> None:
        self._store = store
        self.enabled = enabled

    async def refusal(self, attempt: Attempt) -> Text | None:
        """For an attempt after one that may have landed: why it must not be sent, or
        None to send it (recording the re-send first)."""
        error = attempt.delivery.last_error or ""
        if error.startswith(RESEND_CONFIRMED):
            return None  # audited when the moderator confirmed it
        if not self.enabled:
            return may_have_landed(t(
                "an earlier attempt to file it on Bungie.net got no answer and Bungie offers "
                "no way to check, so it is not filed again (BUNGIE_RESEND_AMBIGUOUS is off)"))
        report = attempt.report
        if await self._resent_before(report.id):
            return may_have_landed(t("Bungie.net gave no answer to the report nor to its one "
                                     "re-send, so it is not filed a third time"))
        await self._store.audit.record(
            RESENT_ACTION, report_id=report.id, guild_id=report.guild_id,
            details={"destination": Destination.BUNGIE.value, "because": error},
        )
        return None

    async def _resent_before(self, report_id: int) -> bool:
        return any(
            entry.action == RESENT_ACTION
            and entry.details.get("destination") == Destination.BUNGIE.value
            for entry in await self._store.audit.for_report(report_id)
        )
