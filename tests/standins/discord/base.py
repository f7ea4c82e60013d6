"""Shared core of :class:`~.standin.DiscordStandIn`: its parts and the basic look-ups."""

from __future__ import annotations

from typing import Any

from .gateway import Gateway
from .messaging import Messaging
from .models import (
    Channel,
    Guild,
    Member,
    RecordedMessage,
    User,
)
from .rest import GATEWAY_PATH, RestConfig
from .state import StandInState

ActorLike = Member | User | int
ChannelLike = Channel | int | str
MessageLike = RecordedMessage | int


class StandInBase:
    """The running stand-in's parts; see :class:`~.standin.DiscordStandIn` for the API."""

    def __init__(
        self,
        state: StandInState,
        gateway: Gateway,
        messaging: Messaging,
        config: RestConfig,
        base_url: str,
        *,
        default_timeout: float,
        click_settle_delay: float,
    ) -> None:
        self.state = state
        self.gateway = gateway
        self.messaging = messaging
        self.config = config
        self.base_url = base_url
        self.api_base_url = f"{base_url}/api/v10"
        self.gateway_url = f"{base_url.replace('http://', 'ws://')}{GATEWAY_PATH}"
        self.default_timeout = default_timeout
        self.click_settle_delay = click_settle_delay
        self._guild: Guild | None = None
        self._bot: Any = None
        self._pseudo_command_ids: dict[tuple[str, int, int | None], int] = {}

    @property
    def guild(self) -> Guild:
        """The seeded default guild."""
        assert self._guild is not None
        return self._guild

    @property
    def bot_user(self) -> User:
        return self.state.bot_user

    @property
    def application_id(self) -> int:
        return self.state.application_id

    @property
    def guilds(self) -> list[Guild]:
        return list(self.state.guilds.values())

    def user(self, user: ActorLike) -> User:
        """The :class:`User` for a member, user or id."""
        if isinstance(user, Member):
            return user.user
        if isinstance(user, User):
            return user
        return self.state.user(user)

    def message(self, message: MessageLike) -> RecordedMessage:
        """Latest version of a message."""
        mid = message if isinstance(message, int) else message.id
        found = self.state.messages.get(mid)
        if found is None:
            raise KeyError(f"no message {mid} recorded")
        return found

    def _timeout(self, timeout: float | None) -> float:
        return self.default_timeout if timeout is None else timeout

    def _channel(self, channel: ChannelLike) -> Channel:
        if isinstance(channel, Channel):
            return channel
        if isinstance(channel, int):
            found = self.state.channels.get(channel)
            if found is None:
                raise KeyError(f"no channel {channel}")
            return found
        return self.guild.channel(channel)

    def attach_bot(self, bot: Any) -> None:
        """Let helpers read the bot's command tree and view store (done by :func:`run_bot`)."""
        self._bot = bot

    def detach_bot(self, bot: Any) -> None:
        if self._bot is bot:
            self._bot = None
