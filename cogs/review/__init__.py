"""The review side of Warden, as one extension.

- ``admin``: ``/warden setup|limits|settings`` (server configuration)
- ``reports``: ``/reports list|show|export|stats``
- ``reply``: ``/reply`` for reporters answering a moderator's question
- ``buttons``: the persistent review-post buttons (``DynamicItem``) and their modals
- ``board``: the review channel as the review posts' ``ReviewBoard`` (handed to them by
  ``bot.runtime.open_app``)
- ``render`` / ``facts``: layout of a review card, and plain facts from Discord objects
"""

from __future__ import annotations

from bot.app import WardenBot
from cogs.review.admin import WardenAdmin
from cogs.review.buttons import ReviewButton
from cogs.review.reply import Reply
from cogs.review.reports import Reports


async def setup(bot: WardenBot) -> None:
    # Buttons on posts made before a restart carry their report id: they work again at once.
    bot.add_dynamic_items(ReviewButton)
    await bot.add_cog(WardenAdmin(bot))
    await bot.add_cog(Reports(bot))
    await bot.add_cog(Reply(bot))


async def teardown(bot: WardenBot) -> None:
    bot.remove_dynamic_items(ReviewButton)
