"""The review side of Warden, as one extension.

- ``admin``: ``/warden setup|limits|settings`` (server configuration)
- ``reports``: ``/reports list|show|export|stats``
- ``reply``: ``/reply`` for reporters answering a moderator's question
- ``buttons``: the persistent review-post buttons (``DynamicItem``) and their modals
- ``board``: the review channel as the review service's ``ReviewBoard``
- ``render`` / ``facts``: layout of a review card, and plain facts from Discord objects
"""

from __future__ import annotations

from bot.app import WardenBot
from cogs.review.admin import WardenAdmin
from cogs.review.board import DiscordReviewBoard
from cogs.review.buttons import ReviewButton
from cogs.review.reply import REPLY_HINT, Reply
from cogs.review.reports import Reports


async def setup(bot: WardenBot) -> None:
    # Buttons on posts made before a restart carry their report id: they work again at once.
    bot.add_dynamic_items(ReviewButton)
    await bot.add_cog(WardenAdmin(bot))
    await bot.add_cog(Reports(bot))
    await bot.add_cog(Reply(bot))
    service = bot.deps.review
    if service is not None:
        service.attach_board(DiscordReviewBoard(bot))
        service.reply_hint = REPLY_HINT


async def teardown(bot: WardenBot) -> None:
    service = bot.deps.review
    if service is not None:
        service.attach_board(None)
    bot.remove_dynamic_items(ReviewButton)
