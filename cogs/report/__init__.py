"""The report cog: ``/report``, the "Report player" and "Report message" menus, the
confirm/cancel buttons and ``/notifications``.

It only translates between Discord and ``bot.services.reporting.service.ReportService``: the
service decides, stores and tells; this package shows its answers.
"""

from __future__ import annotations

from bot.app import WardenBot
from cogs.report.commands import ReportCog
from cogs.report.views import CancelButton, ConfirmButton


async def setup(bot: WardenBot) -> None:
    # Dynamic items carry the report id in their custom_id, so a draft's buttons keep
    # working after a restart.
    bot.add_dynamic_items(ConfirmButton, CancelButton)
    await bot.add_cog(ReportCog(bot))


async def teardown(bot: WardenBot) -> None:
    bot.remove_dynamic_items(ConfirmButton, CancelButton)
