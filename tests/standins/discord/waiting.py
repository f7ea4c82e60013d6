"""Bounded waits on the stand-in's state that fail with a description, never hang."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

from .errors import StandInAssertionError
from .models import RecordedMessage
from .state import StandInState

T = TypeVar("T")


async def wait_until(
    state: StandInState,
    check: Callable[[], T | None],
    *,
    timeout: float,  # noqa: ASYNC109
    what: str,
    seen: Callable[[], str] | None = None,
    changed: Callable[[], asyncio.Event] | None = None,
    poll: float = 0.25,
) -> T:
    """Re-run ``check`` after every change of the stand-in's state until it returns
    a truthy value, and return that; raise :class:`StandInAssertionError`
    naming ``what`` and describing what was ``seen`` after ``timeout`` seconds.

    ``changed`` returns the event to sleep on (default: any change of ``state``);
    each sleep is capped at ``poll`` seconds, so conditions on state outside the
    stand-in (the bot's own) are re-checked that often."""
    deadline = time.monotonic() + timeout
    next_event = changed or state.changed
    while True:
        event = next_event()
        result = check()
        if result:
            return result
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            async with asyncio.timeout(min(remaining, poll)):
                await event.wait()
        except TimeoutError:
            pass
    parts = [f"Timed out after {timeout:.2f}s waiting for {what}."]
    if seen is not None:
        parts.append(f"Seen instead: {seen()}")
    if state.internal_errors:
        parts.append(f"Stand-in internal errors (bugs in the stand-in): {state.internal_errors}")
    if state.bot_errors:
        parts.append(
            "Errors the bot logged:\n  " + "\n  ".join(e[:2000] for e in state.bot_errors[-5:])
        )
    raise StandInAssertionError("\n".join(parts))


def summarize_message(m: RecordedMessage) -> str:
    where = f"DM->{m.recipient_id}" if m.is_dm else f"#{m.channel_id}"
    bits = [f"{m.id} v{m.version} {where} [{m.source}]"]
    if m.ephemeral:
        bits.append(f"ephemeral->{m.recipient_id}")
    if m.loading:
        bits.append("loading")
    if m.deleted:
        bits.append("deleted")
    text = m.text.replace("\n", " | ")
    bits.append(repr(text[:120]))
    if m.custom_ids:
        bits.append(f"components={m.custom_ids}")
    if m.attachments:
        bits.append(f"attachments={[a.filename for a in m.attachments]}")
    return " ".join(bits)


def summarize_messages(messages: list[RecordedMessage], limit: int = 12) -> str:
    if not messages:
        return "no messages were recorded"
    shown = messages[-limit:]
    head = f"{len(messages)} message versions recorded"
    if len(messages) > limit:
        head += f" (last {limit})"
    return head + ":\n  " + "\n  ".join(summarize_message(m) for m in shown)
