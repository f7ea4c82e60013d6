"""Ids that travel with the work: the interaction or report a task is handling.

Bound once where the work enters (an interaction's handler, a delivery attempt), they
are added to every log line that task and the tasks it starts emit, so a service that
knows nothing of Discord still logs the interaction it works for. Nothing here imports
Discord: services may bind ids too.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar

_BOUND: ContextVar[tuple[tuple[str, int | str], ...]] = ContextVar("warden_log_ids", default=())


def bind_log_ids(**ids: int | str) -> None:
    """Put ``ids`` (``interaction_id=``, ``report_id=``) on every later log line of the
    current task and of the tasks it starts; each asyncio task has its own copy."""
    merged = dict(_BOUND.get())
    merged.update(ids)
    _BOUND.set(tuple(merged.items()))


def bound_log_ids() -> dict[str, int | str]:
    return dict(_BOUND.get())


class BoundIdsFilter(logging.Filter):
    """Adds the bound ids as record attributes; an explicit ``extra`` wins."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _BOUND.get():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True
