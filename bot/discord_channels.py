"""Plain text posts to a channel for services (the daily audit chain head), pinging
nobody."""

from __future__ import annotations

import discord


class DiscordChannelPoster:
    def __init__(self, client: discord.Client) -> None:
        self._client = client

    async def post_text(self, channel_id: int, text: str) -> str | None:
        try:
            channel = (self._client.get_channel(channel_id)
                       or await self._client.fetch_channel(channel_id))
            if not isinstance(channel, discord.abc.Messageable):
                return f"channel {channel_id} cannot take messages"
            await channel.send(text[:2000], allowed_mentions=discord.AllowedMentions.none())
        except discord.NotFound:
            return f"channel {channel_id} no longer exists"
        except discord.Forbidden as exc:
            return f"Warden may not post in channel {channel_id} ({exc.code})"
        except discord.HTTPException as exc:
            return f"Discord answered {exc.status} ({exc.code})"
        return None
