""":class:`InteractionHandle`: what a test holds after dispatching an interaction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import StandInAssertionError
from .models import FLAG_EPHEMERAL, JSON, RecordedMessage
from .records import CallbackRecord, InteractionRecord, ShownModal
from .routes_interactions import CALLBACK_NAMES
from .waiting import summarize_message, wait_until

if TYPE_CHECKING:
    from .actions import UserActions

MessagePredicate = Callable[[RecordedMessage], bool]


@dataclass(frozen=True)
class InteractionResponse:
    """The bot's first answer to an interaction (its callback)."""

    type: int
    data: JSON
    at: float

    @property
    def name(self) -> str:
        """The callback type's name: ``CHANNEL_MESSAGE_WITH_SOURCE``, ``MODAL``, ..."""
        return CALLBACK_NAMES.get(self.type, str(self.type))

    @property
    def ephemeral(self) -> bool:
        return bool(int(self.data.get("flags") or 0) & FLAG_EPHEMERAL)

    @property
    def deferred(self) -> bool:
        return self.type in (5, 6)

    @property
    def content(self) -> str:
        return str(self.data.get("content") or "")


def _finished(message: RecordedMessage) -> bool:
    return (
        not message.loading
        and not message.deleted
        and bool(message.content or message.embeds or message.components or message.attachments)
    )


class InteractionHandle:
    """One interaction sent to the bot, and everything it answered.

    ``await h.response()`` is the first callback; ``await h.wait_final()`` the reply
    once it is no longer a "thinking" placeholder (after edits/follow-ups);
    ``await h.modal()`` the modal shown; ``h.followups`` the follow-up messages.
    Every wait defaults to the stand-in's timeout and raises ``AssertionError``.
    """

    def __init__(self, standin: UserActions, record: InteractionRecord) -> None:
        self._standin = standin
        self.record = record

    def __repr__(self) -> str:
        return f"<InteractionHandle {self.record.description} id={self.record.id}>"

    # --- plain data -----------------------------------------------------------
    @property
    def id(self) -> int:
        return self.record.id

    @property
    def token(self) -> str:
        return self.record.token

    @property
    def payload(self) -> JSON:
        """The INTERACTION_CREATE ``d`` that was sent."""
        return self.record.payload

    @property
    def callbacks(self) -> list[CallbackRecord]:
        return list(self.record.callbacks)

    @property
    def dispatched_at(self) -> float | None:
        """``time.perf_counter()`` when INTERACTION_CREATE was written to the socket."""
        return self.record.dispatched_at

    @property
    def first_callback_at(self) -> float | None:
        """``time.perf_counter()`` when the bot's first callback request arrived."""
        return self.record.first_callback_at

    @property
    def ack_latency(self) -> float | None:
        """Seconds from INTERACTION_CREATE written to the socket to the first callback."""
        return self.record.ack_latency

    @property
    def original(self) -> RecordedMessage | None:
        """Latest version of the original response message (or the clicked message after
        an UPDATE_MESSAGE / DEFERRED_UPDATE_MESSAGE)."""
        mid = self.record.original_message_id
        return self._standin.state.messages.get(mid) if mid is not None else None

    @property
    def followups(self) -> list[RecordedMessage]:
        state = self._standin.state
        return [state.messages[m] for m in self.record.followup_ids if m in state.messages]

    @property
    def messages(self) -> list[RecordedMessage]:
        """Original response (if any) then follow-ups, latest versions."""
        original = self.original
        return ([original] if original is not None else []) + self.followups

    # --- waits ----------------------------------------------------------------
    def _timeout(self, timeout: float | None) -> float:
        return self._standin.default_timeout if timeout is None else timeout

    def _seen(self) -> str:
        rec = self.record
        parts = [f"callbacks={[(c.type, CALLBACK_NAMES.get(c.type)) for c in rec.callbacks]}"]
        if rec.rejected_callbacks:
            parts.append(f"rejected callbacks={rec.rejected_callbacks}")
        msgs = self.messages
        parts.append(
            "messages: " + ("; ".join(summarize_message(m) for m in msgs) if msgs else "none")
        )
        since = [
            f"{r.method} {r.path} -> {r.status}"
            for r in self._standin.state.requests
            if rec.dispatched_at is not None and r.at >= rec.dispatched_at
        ][-8:]
        parts.append(f"bot requests since dispatch: {since or 'none'}")
        if not rec.callbacks:
            parts.append(
                "(no callback at all: did the bot register this command/view/modal, "
                "and did its handler raise?)"
            )
        return "; ".join(parts)

    async def response(self, timeout: float | None = None) -> InteractionResponse:  # noqa: ASYNC109
        """The first callback the bot made (waits for it)."""

        def check() -> InteractionResponse | None:
            if not self.record.callbacks:
                return None
            first = self.record.callbacks[0]
            return InteractionResponse(first.type, first.data, first.at)

        return await wait_until(
            self._standin.state,
            check,
            timeout=self._timeout(timeout),
            what=f"the bot to answer {self.record.description}",
            seen=self._seen,
            changed=self.record.changed,
        )

    async def modal(self, timeout: float | None = None) -> ShownModal:  # noqa: ASYNC109
        """The modal the bot opened; fails if it answered differently."""
        response = await self.response(timeout)
        if response.type != 9 or self.record.modal is None:
            raise StandInAssertionError(
                f"expected {self.record.description} to open a modal, but the bot answered "
                f"{response.name}: {response.data!r:.300}"
            )
        return self.record.modal

    async def choices(self, timeout: float | None = None) -> list[JSON]:  # noqa: ASYNC109
        """Autocomplete choices the bot returned."""
        response = await self.response(timeout)
        if response.type != 8:
            raise StandInAssertionError(f"expected autocomplete choices, got {response.name}")
        return list(response.data.get("choices") or [])

    async def wait_final(
        self,
        predicate: MessagePredicate | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> RecordedMessage:
        """The first of this interaction's messages (original, then follow-ups) that
        satisfies ``predicate``. By default: a reply this interaction created, or the
        clicked message once edited after the click, that is not a "thinking"
        placeholder and not empty."""
        dispatched = self.record.dispatched_at or 0.0

        def fresh_and_finished(message: RecordedMessage) -> bool:
            # the reply itself, or a message this interaction edited (component updates)
            touched = message.interaction_id == self.record.id or (
                message.edited_at is not None and message.edited_at >= dispatched
            )
            return touched and _finished(message)

        pred = predicate or fresh_and_finished

        def check() -> RecordedMessage | None:
            for message in self.messages:
                if pred(message):
                    return message
            return None

        return await wait_until(
            self._standin.state,
            check,
            timeout=self._timeout(timeout),
            what=f"a final reply to {self.record.description}",
            seen=self._seen,
            changed=self.record.changed,
        )

    async def followup(
        self,
        predicate: MessagePredicate | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> RecordedMessage:
        """The first follow-up message (not the original) satisfying ``predicate``."""

        def check() -> RecordedMessage | None:
            for message in self.followups:
                if predicate is None or predicate(message):
                    return message
            return None

        return await wait_until(
            self._standin.state,
            check,
            timeout=self._timeout(timeout),
            what=f"a follow-up to {self.record.description}",
            seen=self._seen,
            changed=self.record.changed,
        )

    async def submit_modal(
        self, values: dict[str, Any] | None = None, **kwargs: Any
    ) -> InteractionHandle:
        """Shortcut: submit the modal this interaction opened, as the same user."""
        return await self._standin.submit_modal(self.record.user_id, self, values, **kwargs)
