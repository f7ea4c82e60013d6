"""The review side of Warden, as one extension.

- ``admin``: ``/warden setup|limits|settings`` (server configuration)
- ``reports``: ``/reports list|show|export|stats``
- ``reply``: ``/reply`` for reporters answering a moderator's question
- ``buttons``: the persistent review-post buttons (``DynamicItem``) and their modals
- ``member_buttons`` / ``case_commands``: Warn, Timeout, Kick, Ban on the reported member
  (buttons with a modal, and ``/case warn|timeout|kick|ban``); ``member_moderation``: Discord
  as the ``MemberModeration`` port
- ``board``: the review channel as the review posts' ``ReviewBoard`` (handed to them by
  ``bot.runtime.open_app``)
- ``render`` / ``facts``: layout of a review card, and plain facts from Discord objects
"""

from __future__ import annotations

from bot.app import WardenBot
from cogs.review.admin import WardenAdmin
from cogs.review.buttons import ReviewButton
from cogs.review.case_commands import CaseCommands
from cogs.review.member_buttons import MemberActionButton
from cogs.review.reply import Reply
from cogs.review.reports import Reports


async def setup(bot: WardenBot) -> None:
    # Buttons on posts made before a restart carry their report id: they work again at once.
    bot.add_dynamic_items(ReviewButton, MemberActionButton)
    await bot.add_cog(WardenAdmin(bot))
    await bot.add_cog(Reports(bot))
    await bot.add_cog(Reply(bot))
    await bot.add_cog(CaseCommands(bot))


async def teardown(bot: WardenBot) -> None:
    bot.remove_dynamic_items(ReviewButton, MemberActionButton)
