"""A local Discord stand-in (REST + gateway on 127.0.0.1) that a real discord.py bot
logs into, and helpers to play the users.

Quick start::

    from tests.standins.discord import start_discord_standin, run_bot

    async def test_report(make_bot):
        async with start_discord_standin() as standin, run_bot(make_bot(), standin):
            g = standin.guild
            h = await standin.slash(g.reporter, "report", options={"player": g.target})
            reply = await h.wait_final()
            assert reply.ephemeral

Or use the ``discord_standin`` fixture from ``tests/conftest.py``. Construct bots
with ``guild_ready_timeout=0.05`` (or similar) so they become ready quickly.

Modules: ``models`` (users, guilds, recorded messages), ``state`` (the world),
``rest``/``routes_*`` (HTTP API), ``gateway`` (websocket), ``builders``
(interaction payloads), ``handle`` (:class:`InteractionHandle`), ``standin``
(:class:`DiscordStandIn`: world + observation) on ``actions`` (simulated users) on
``base``, and ``runner`` (:func:`start_discord_standin`, :func:`run_bot`).
"""

from .errors import CommandUnavailable, InvalidInteraction, StandInAssertionError
from .faults import FaultRule
from .gateway import IdentifyRecord
from .handle import InteractionHandle, InteractionResponse
from .ids import shard_of
from .models import (
    Channel,
    Guild,
    Member,
    Overwrite,
    Pings,
    RecordedAttachment,
    RecordedMessage,
    Role,
    Upload,
    User,
)
from .ratelimits import ChannelPostLimits
from .records import CallbackRecord, InteractionRecord, RequestRecord, ShownModal, SyncRecord
from .runner import run_bot, start_discord_standin
from .standin import DiscordStandIn
from .state import ModerationAction

__all__ = [
    "CallbackRecord",
    "Channel",
    "ChannelPostLimits",
    "CommandUnavailable",
    "DiscordStandIn",
    "FaultRule",
    "Guild",
    "IdentifyRecord",
    "InteractionHandle",
    "InteractionRecord",
    "InteractionResponse",
    "InvalidInteraction",
    "Member",
    "ModerationAction",
    "Overwrite",
    "Pings",
    "RecordedAttachment",
    "RecordedMessage",
    "RequestRecord",
    "Role",
    "ShownModal",
    "StandInAssertionError",
    "SyncRecord",
    "Upload",
    "User",
    "run_bot",
    "shard_of",
    "start_discord_standin",
]
