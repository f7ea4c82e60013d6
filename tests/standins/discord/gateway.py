"""The gateway websocket: HELLO, IDENTIFY -> READY + GUILD_CREATE, heartbeats, member
chunks, RESUME, and dispatching events (INTERACTION_CREATE, MESSAGE_CREATE, ...).

Frames are uncompressed JSON text frames, which discord.py accepts even though
it asks for ``compress=zlib-stream``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from .errors import StandInAssertionError
from .models import JSON, Guild
from .state import StandInState

_log = logging.getLogger(__name__)

# Gateway intents (subset)
INTENT_GUILDS = 1 << 0
INTENT_GUILD_MEMBERS = 1 << 1
INTENT_GUILD_MODERATION = 1 << 2
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_DIRECT_MESSAGES = 1 << 12
INTENT_MESSAGE_CONTENT = 1 << 15

OP_DISPATCH = 0
OP_HEARTBEAT = 1
OP_IDENTIFY = 2
OP_PRESENCE_UPDATE = 3
OP_RESUME = 6
OP_RECONNECT = 7
OP_REQUEST_GUILD_MEMBERS = 8
OP_INVALID_SESSION = 9
OP_HELLO = 10
OP_HEARTBEAT_ACK = 11

# Close codes (Discord's "Gateway Close Event Codes")
CLOSE_INVALID_SHARD = 4010
CLOSE_SHARDING_REQUIRED = 4011

MEMBER_CHUNK_SIZE = 1000
IDENTIFY_WINDOW = 5.0
"""Seconds in which one rate-limit key (``shard_id % max_concurrency``) allows one IDENTIFY."""
MAX_GUILDS_PER_SESSION = 2500
"""A session that would hold more servers is closed with 4011: the bot must shard."""
_CONTENT_KEYS = ("content", "embeds", "attachments", "components", "poll")


def _dumps(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


@dataclass
class GatewaySession:
    """One identified gateway session (survives reconnects through RESUME)."""

    session_id: str
    intents: int
    shard_id: int
    shard_count: int
    large_threshold: int
    ws: web.WebSocketResponse | None
    seq: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    buffer: deque[tuple[int, str]] = field(default_factory=lambda: deque(maxlen=5000))
    heartbeats: int = 0

    @property
    def connected(self) -> bool:
        return self.ws is not None and not self.ws.closed

    def handles_guild(self, guild_id: int | None) -> bool:
        if guild_id is None:
            return self.shard_id == 0
        return (guild_id >> 22) % self.shard_count == self.shard_id

    def has_intent(self, intent: int | None) -> bool:
        return intent is None or bool(self.intents & intent)


@dataclass(frozen=True)
class IdentifyRecord:
    """One IDENTIFY the gateway received: when (``time.monotonic``), for which shard, and
    whether it was accepted (refused ones got op 9 INVALID_SESSION or a close)."""

    at: float
    shard_id: int
    shard_count: int
    accepted: bool


class Gateway:
    """Serves ``/gateway`` and pushes events to connected bots.

    Sharding as on Discord: ``recommended_shards`` and ``max_concurrency`` are what
    ``GET /gateway/bot`` says; an IDENTIFY's ``shard`` is checked (4010 when the id is
    outside the count, 4011 when one session would hold more than
    ``max_guilds_per_session`` servers); each server's events go to the session of shard
    ``(guild_id >> 22) % shard_count``, DMs to shard 0. Every IDENTIFY is recorded in
    ``identifies``; with ``enforce_identify_limit`` one that comes less than
    ``IDENTIFY_WINDOW`` seconds after an accepted one with the same rate-limit key gets op 9
    INVALID_SESSION, as Discord answers identifies past the concurrency limit.
    """

    def __init__(
        self,
        state: StandInState,
        *,
        gateway_url: Callable[[], str],
        heartbeat_interval_ms: int = 41_250,
        expected_token: str | None = None,
    ) -> None:
        self.state = state
        self._gateway_url = gateway_url
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.expected_token = expected_token
        self.sessions: dict[str, GatewaySession] = {}
        self.identify_count = 0
        self.recommended_shards = 1
        self.max_concurrency = 1
        self.enforce_identify_limit = False
        self.max_guilds_per_session = MAX_GUILDS_PER_SESSION
        self.identifies: list[IdentifyRecord] = []
        self.resume_count = 0
        self.sent_events: Counter[str] = Counter()
        self.received_ops: Counter[int] = Counter()
        self._sockets: set[web.WebSocketResponse] = set()
        self._background: set[asyncio.Task[Any]] = set()

    # --- public ---------------------------------------------------------------
    def connected_sessions(self) -> list[GatewaySession]:
        return [s for s in self.sessions.values() if s.connected]

    async def dispatch(
        self,
        event: str,
        data: JSON,
        *,
        guild_id: int | None = None,
        intent: int | None = None,
        transform: Callable[[GatewaySession, JSON], JSON] | None = None,
    ) -> list[float]:
        """Send a DISPATCH to every connected session that handles ``guild_id`` and has
        ``intent``; return the ``perf_counter`` times the frames were written."""
        times: list[float] = []
        for session in self.connected_sessions():
            if not session.handles_guild(guild_id) or not session.has_intent(intent):
                continue
            payload = transform(session, data) if transform is not None else data
            written = await self._send_dispatch(session, event, payload)
            if written is not None:
                times.append(written)
        return times

    def dispatch_soon(
        self,
        event: str,
        data: JSON,
        *,
        guild_id: int | None = None,
        intent: int | None = None,
        transform: Callable[[GatewaySession, JSON], JSON] | None = None,
    ) -> None:
        """Fire-and-forget :meth:`dispatch` (used from synchronous helpers)."""
        if not self.connected_sessions():
            return
        task = asyncio.ensure_future(
            self.dispatch(event, data, guild_id=guild_id, intent=intent, transform=transform)
        )
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def dispatch_interaction(
        self,
        payload: JSON,
        guild_id: int | None,
        *,
        on_write: Callable[[float], None] | None = None,
    ) -> float:
        """Send INTERACTION_CREATE to the one session that should receive it. ``on_write``
        gets the ``perf_counter`` time just before the frame is written."""
        targets = [s for s in self.connected_sessions() if s.handles_guild(guild_id)]
        if not targets:
            raise StandInAssertionError(
                "cannot dispatch an interaction: no bot is connected to the stand-in gateway "
                "(start one with `async with run_bot(bot, standin):`)"
            )
        written = await self._send_dispatch(
            targets[-1], "INTERACTION_CREATE", payload, on_write=on_write
        )
        if written is None:
            raise StandInAssertionError(
                "the bot's gateway connection closed while dispatching an interaction"
            )
        return written

    async def dispatch_message(
        self,
        event: str,
        message: JSON,
        *,
        guild_id: int | None,
        is_dm: bool,
        exempt_from_content_intent: bool,
    ) -> None:
        """MESSAGE_CREATE/UPDATE with Discord's MESSAGE_CONTENT rules: without that
        intent, content/embeds/attachments/components arrive empty unless the message
        is a DM, by the bot, or mentions the bot."""
        intent = INTENT_DIRECT_MESSAGES if is_dm else INTENT_GUILD_MESSAGES

        def strip(session: GatewaySession, data: JSON) -> JSON:
            if exempt_from_content_intent or is_dm or session.intents & INTENT_MESSAGE_CONTENT:
                return data
            stripped = dict(data)
            for key in _CONTENT_KEYS:
                if key in stripped:
                    stripped[key] = "" if key == "content" else []
            stripped.pop("poll", None)
            return stripped

        await self.dispatch(event, message, guild_id=guild_id, intent=intent, transform=strip)

    async def request_reconnect(self) -> None:
        """Send op 7 RECONNECT to every session: discord.py reconnects and RESUMEs."""
        for session in self.connected_sessions():
            assert session.ws is not None
            async with session.lock:
                await session.ws.send_str(
                    _dumps({"op": OP_RECONNECT, "d": None, "s": None, "t": None})
                )

    async def drop_connections(self, code: int = 4000) -> None:
        """Close every gateway socket with ``code`` (4000 = unknown error; clients resume)."""
        for ws in list(self._sockets):
            await ws.close(code=code, message=b"closed by stand-in")

    async def close(self) -> None:
        for task in list(self._background):
            task.cancel()
        await self.drop_connections(code=1001)

    # --- websocket handler ------------------------------------------------------
    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0, compress=False, autoping=True)
        await ws.prepare(request)
        self._sockets.add(ws)
        session: GatewaySession | None = None
        try:
            await ws.send_str(
                _dumps(
                    {
                        "op": OP_HELLO,
                        "s": None,
                        "t": None,
                        "d": {
                            "heartbeat_interval": self.heartbeat_interval_ms,
                            "_trace": ["discord-standin"],
                        },
                    }
                )
            )
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    try:
                        payload = json.loads(msg.data)
                    except ValueError:
                        await ws.close(code=4002, message=b"Error while decoding payload.")
                        break
                    session = await self._on_payload(ws, session, payload)
                elif msg.type == WSMsgType.BINARY:
                    await ws.close(code=4002, message=b"Binary frames are not supported here.")
                    break
                elif msg.type == WSMsgType.ERROR:
                    break
        finally:
            self._sockets.discard(ws)
            if session is not None and session.ws is ws:
                session.ws = None
        return ws

    async def _on_payload(
        self, ws: web.WebSocketResponse, session: GatewaySession | None, payload: JSON
    ) -> GatewaySession | None:
        op = payload.get("op")
        data = payload.get("d")
        self.received_ops[int(op) if isinstance(op, int) else -1] += 1
        if op == OP_HEARTBEAT:
            frame = _dumps({"op": OP_HEARTBEAT_ACK, "d": None, "s": None, "t": None})
            if session is not None:
                session.heartbeats += 1
                async with session.lock:
                    await ws.send_str(frame)
            else:
                await ws.send_str(frame)
            return session
        if op == OP_IDENTIFY:
            return await self._identify(ws, data or {})
        if op == OP_RESUME:
            return await self._resume(ws, data or {})
        if session is None:
            await ws.close(code=4003, message=b"Not authenticated.")
            return None
        if op == OP_REQUEST_GUILD_MEMBERS:
            await self._request_members(session, data or {})
        elif op == OP_PRESENCE_UPDATE:
            self.state.presence_updates.append(data or {})
        else:
            _log.debug("stand-in gateway ignoring op %s", op)
        return session

    async def _identify(self, ws: web.WebSocketResponse, data: JSON) -> GatewaySession | None:
        token = str(data.get("token", ""))
        self.state.tokens_seen.append(token)
        if self.expected_token is not None and token != self.expected_token:
            await ws.close(code=4004, message=b"Authentication failed.")
            return None
        shard = data.get("shard") or [0, 1]
        try:
            shard_id, shard_count = int(shard[0]), int(shard[1])
        except (TypeError, ValueError, IndexError):
            shard_id, shard_count = -1, 0
        now = time.monotonic()
        if not 0 <= shard_id < shard_count:
            self.identifies.append(IdentifyRecord(now, shard_id, shard_count, False))
            await ws.close(code=CLOSE_INVALID_SHARD, message=b"Invalid shard.")
            return None
        key = shard_id % self.max_concurrency
        if self.enforce_identify_limit and any(
            r.accepted and r.shard_id % self.max_concurrency == key
            and now - r.at < IDENTIFY_WINDOW for r in self.identifies
        ):
            self.identifies.append(IdentifyRecord(now, shard_id, shard_count, False))
            await ws.send_str(_dumps({"op": OP_INVALID_SESSION, "d": False, "s": None, "t": None}))
            return None
        held = sum(1 for g in self.state.guilds if (g >> 22) % shard_count == shard_id)
        if held > self.max_guilds_per_session:
            self.identifies.append(IdentifyRecord(now, shard_id, shard_count, False))
            await ws.close(code=CLOSE_SHARDING_REQUIRED, message=b"Sharding required.")
            return None
        self.identifies.append(IdentifyRecord(now, shard_id, shard_count, True))
        session = GatewaySession(
            session_id=secrets.token_hex(16),
            intents=int(data.get("intents", 0)),
            shard_id=shard_id,
            shard_count=shard_count,
            large_threshold=int(data.get("large_threshold", 50)),
            ws=ws,
        )
        self.sessions[session.session_id] = session
        self.identify_count += 1
        guilds = [g for g in self.state.guilds.values() if session.handles_guild(g.id)]
        ready: JSON = {
            "v": 10,
            "user": dict(
                self.state.bot_user.to_payload(), verified=True, mfa_enabled=False, email=None
            ),
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "session_id": session.session_id,
            "session_type": "normal",
            "resume_gateway_url": self._gateway_url(),
            "application": {"id": str(self.state.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "user_settings": {},
            "auth": {},
        }
        if data.get("shard") is not None:
            ready["shard"] = [session.shard_id, session.shard_count]
        await self._send_dispatch(session, "READY", ready)
        for guild in guilds:
            await self._send_dispatch(
                session, "GUILD_CREATE", self.guild_create_payload(guild, session)
            )
        return session

    def guild_create_payload(self, guild: Guild, session: GatewaySession) -> JSON:
        """GUILD_CREATE as Discord sends it: every member only when the bot has the
        GUILD_MEMBERS intent and the guild is not "large" (more members than the
        IDENTIFY ``large_threshold``); otherwise just the bot's own member, and
        discord.py asks for the rest with op 8 if it chunks guilds."""
        count = len(guild.members)
        large = count > session.large_threshold
        if session.intents & INTENT_GUILD_MEMBERS and not large:
            members = list(guild.members.values())
        else:
            me = guild.members.get(self.state.bot_user.id)
            members = [me] if me is not None else []
        return guild.to_payload(
            members=members,
            member_count=count,
            large=large,
            joined_at=self.state.guild_joined_at.get(guild.id, ""),
        )

    async def _resume(self, ws: web.WebSocketResponse, data: JSON) -> GatewaySession | None:
        session = self.sessions.get(str(data.get("session_id")))
        if session is None or session.connected:
            await ws.send_str(_dumps({"op": OP_INVALID_SESSION, "d": False, "s": None, "t": None}))
            return None
        self.resume_count += 1
        last = int(data.get("seq") or 0)
        async with session.lock:
            session.ws = ws
            for seq, frame in list(session.buffer):
                if seq > last:
                    await ws.send_str(frame)
        await self._send_dispatch(session, "RESUMED", {"_trace": ["discord-standin"]})
        return session

    async def _request_members(self, session: GatewaySession, data: JSON) -> None:
        raw_ids = data.get("guild_id")
        guild_ids: list[Any] = raw_ids if isinstance(raw_ids, list) else [raw_ids]
        for raw in guild_ids:
            guild = self.state.guilds.get(int(raw))
            if guild is None:
                continue
            query = str(data.get("query") or "").lower()
            limit = int(data.get("limit") or 0)
            user_ids = data.get("user_ids")
            not_found: list[str] = []
            if user_ids:
                wanted = [int(u) for u in (user_ids if isinstance(user_ids, list) else [user_ids])]
                members = [guild.members[u] for u in wanted if u in guild.members]
                not_found = [str(u) for u in wanted if u not in guild.members]
            else:
                members = [
                    m
                    for m in guild.members.values()
                    if not query or m.user.username.lower().startswith(query)
                ]
                if limit:
                    members = members[:limit]
            chunks = [
                members[i : i + MEMBER_CHUNK_SIZE]
                for i in range(0, len(members), MEMBER_CHUNK_SIZE)
            ]
            chunks = chunks or [[]]
            for index, chunk in enumerate(chunks):
                payload: JSON = {
                    "guild_id": str(guild.id),
                    "members": [m.to_payload() for m in chunk],
                    "chunk_index": index,
                    "chunk_count": len(chunks),
                }
                if not_found and index == 0:
                    payload["not_found"] = not_found
                if data.get("nonce") is not None:
                    payload["nonce"] = data["nonce"]
                await self._send_dispatch(session, "GUILD_MEMBERS_CHUNK", payload)

    async def _send_dispatch(
        self,
        session: GatewaySession,
        event: str,
        data: JSON,
        *,
        on_write: Callable[[float], None] | None = None,
    ) -> float | None:
        async with session.lock:
            session.seq += 1
            frame = _dumps({"op": OP_DISPATCH, "t": event, "s": session.seq, "d": data})
            session.buffer.append((session.seq, frame))
            self.sent_events[event] += 1
            ws = session.ws
            if ws is None or ws.closed:
                return None
            if on_write is not None:
                on_write(time.perf_counter())
            try:
                await ws.send_str(frame)
            except (ConnectionError, RuntimeError):
                return None
            return time.perf_counter()
