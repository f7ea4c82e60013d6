"""The one place where outside-API calls are retried.

Clients turn each HTTP exchange into a result or an ``ApiError``; this module
decides whether and when to try again. Throttles wait the upstream's hint,
transient failures back off exponentially with full jitter, and everything is
bounded by attempts and total time. A non-idempotent call that was sent but got
no answer (``AmbiguousSend``) is never re-sent blindly: the caller supplies a
``reconcile`` step that asks the upstream whether it landed.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from bot.apis.errors import AmbiguousSend, ApiError, Throttled, Unavailable

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    total_budget: float = 120.0
    """Seconds from the first attempt after which no further wait is started."""
    on_error: Callable[[ApiError], None] | None = field(default=None, compare=False)
    """Told of every failed attempt, retried or not (the API error metrics)."""

    def backoff(self, attempt: int) -> float:
        """Full-jitter exponential backoff for the wait after ``attempt`` (1-based)."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return random.uniform(self.base_delay / 2, max(ceiling, self.base_delay / 2))


Sleep = Callable[[float], Awaitable[None]]


async def with_retries(
    operation: Callable[[], Awaitable[T]],
    *,
    policy: RetryPolicy,
    idempotent: bool,
    reconcile: Callable[[], Awaitable[T | None]] | None = None,
    sleep: Sleep = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
    describe: str = "request",
) -> T:
    """Run ``operation`` until it succeeds or the policy gives up.

    ``reconcile`` is called after an ``AmbiguousSend`` of a non-idempotent
    operation (and before every later attempt): if it finds that the earlier
    attempt landed, its result is returned instead of sending again. Without
    ``reconcile`` such a failure is raised at once.
    """
    started = clock()
    attempt = 0
    must_reconcile = False
    while True:
        attempt += 1
        try:
            if must_reconcile and reconcile is not None:
                landed = await _observed(reconcile, policy)
                if landed is not None:
                    log.info("%s: earlier attempt had landed; not sending again", describe)
                    return landed
            return await _observed(operation, policy)
        except Throttled as exc:
            delay = max(exc.retry_after, 0.0)
            last: Exception = exc
        except AmbiguousSend as exc:
            if not idempotent:
                if reconcile is None:
                    raise
                must_reconcile = True
            delay = policy.backoff(attempt)
            last = exc
        except Unavailable as exc:
            delay = max(exc.retry_after or 0.0, policy.backoff(attempt))
            last = exc
        elapsed = clock() - started
        if attempt >= policy.max_attempts or elapsed + delay > policy.total_budget:
            log.warning("%s: giving up after %d attempt(s): %s", describe, attempt, last)
            raise last
        log.info("%s: attempt %d failed (%s); retrying in %.2fs", describe, attempt, last, delay)
        await sleep(delay)


async def _observed(call: Callable[[], Awaitable[T]], policy: RetryPolicy) -> T:
    try:
        return await call()
    except ApiError as exc:
        if policy.on_error is not None:
            policy.on_error(exc)
        raise
