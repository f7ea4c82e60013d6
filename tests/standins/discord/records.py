"""What the stand-in records about requests, command syncs and interactions."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from .models import JSON, iter_components


@dataclass(frozen=True)
class RequestRecord:
    """One HTTP request the bot made (path is below ``/api/v10``)."""

    method: str
    path: str
    query: dict[str, str]
    status: int
    at: float
    json: Any = None


@dataclass(frozen=True)
class SyncRecord:
    """One bulk overwrite of application commands (``guild_id`` None = global)."""

    guild_id: int | None
    commands: list[JSON]
    at: float


@dataclass(frozen=True)
class CallbackRecord:
    """One ``POST /interactions/{id}/{token}/callback`` the bot made."""

    type: int
    data: JSON
    at: float
    attachments: int = 0


@dataclass(frozen=True)
class ShownModal:
    """A modal the bot opened (callback type 9). Pass it, or the handle that opened it,
    to ``standin.submit_modal``."""

    custom_id: str
    title: str
    components: list[JSON]
    interaction_id: int
    raw: JSON = field(repr=False)

    @property
    def fields(self) -> list[JSON]:
        """Input components (text inputs, selects, file uploads, ...) with a custom_id."""
        return [
            c
            for c in iter_components(self.components)
            if "custom_id" in c and c.get("type") not in (1, 18)
        ]

    @property
    def custom_ids(self) -> list[str]:
        return [str(c["custom_id"]) for c in self.fields]

    def label_for(self, custom_id: str) -> str | None:
        """The label shown for an input (``ui.Label`` text, or a legacy text input label)."""
        for comp in iter_components(self.components):
            if (
                comp.get("type") == 18
                and (comp.get("component") or {}).get("custom_id") == custom_id
            ):
                return str(comp.get("label"))
            if comp.get("custom_id") == custom_id and comp.get("label"):
                return str(comp["label"])
        return None


@dataclass
class InteractionRecord:
    """Server-side bookkeeping for one dispatched interaction."""

    id: int
    token: str
    type: int
    payload: JSON
    user_id: int
    guild_id: int | None
    channel_id: int
    description: str
    source_message_id: int | None = None
    dispatched_at: float | None = None
    first_callback_at: float | None = None
    callbacks: list[CallbackRecord] = field(default_factory=list)
    original_message_id: int | None = None
    original_replaced_by_followup: bool = False
    followup_ids: list[int] = field(default_factory=list)
    modal: ShownModal | None = None
    deferred_ephemeral: bool = False
    rejected_callbacks: list[tuple[int, str]] = field(default_factory=list)
    _changed: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    def notify(self) -> None:
        """Wake waiters of this interaction only (cheap with hundreds in flight)."""
        self._changed.set()
        self._changed = asyncio.Event()

    def changed(self) -> asyncio.Event:
        return self._changed

    @property
    def acknowledged(self) -> bool:
        return bool(self.callbacks)

    @property
    def ack_latency(self) -> float | None:
        """Seconds from INTERACTION_CREATE written to the socket to the first callback."""
        if self.dispatched_at is None or self.first_callback_at is None:
            return None
        return self.first_callback_at - self.dispatched_at
