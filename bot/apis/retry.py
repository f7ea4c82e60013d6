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
import functools
import logging
import os
import random
import ssl
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

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


async def send(
    client: httpx.AsyncClient, request: httpx.Request, *, destination: str
) -> httpx.Response:
    """Send one request, mapping transport failures to ``Unavailable`` (certainly not
    sent) or ``AmbiguousSend`` (may have reached the upstream)."""
    try:
        return await client.send(request)
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        raise Unavailable(
            f"cannot connect ({type(exc).__name__})", destination=destination
        ) from None
    except httpx.TransportError as exc:
        # Read/write timeouts and dropped connections: the request may have landed.
        raise AmbiguousSend(
            f"no answer after sending ({type(exc).__name__})", destination=destination
        ) from None


class _TrustLoadedOnUse(ssl.SSLContext):
    """A certificate-checking context that reads its CA certificates on the first TLS
    handshake instead of when it is made.

    Reading certifi's bundle takes about 18 ms and 1 MiB, which every start-up paid
    when the HTTP clients were built. Every handshake goes through ``wrap_bio`` (asyncio,
    anyio) or ``wrap_socket``, so none happens without them.
    """

    _cafile: str | None = None
    _capath: str | None = None
    _trust_loaded = False

    def defer_verify_locations(self, *, cafile: str | None, capath: str | None) -> None:
        """``load_verify_locations``, done by the first handshake."""
        self._cafile, self._capath = cafile, capath

    def _load_trust(self) -> None:
        if not self._trust_loaded:
            self.load_verify_locations(cafile=self._cafile, capath=self._capath)
            self._trust_loaded = True

    def wrap_bio(self, *args: Any, **kwargs: Any) -> ssl.SSLObject:
        self._load_trust()
        return super().wrap_bio(*args, **kwargs)

    def wrap_socket(self, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        self._load_trust()
        return super().wrap_socket(*args, **kwargs)


@functools.cache
def verifying_tls_context() -> ssl.SSLContext:
    """What ``httpx.create_ssl_context()`` makes, shared by every client (httpx builds
    one per client otherwise), with the certificates read on first use."""
    # httpx's choice of certificates: SSL_CERT_FILE, else SSL_CERT_DIR, else certifi's
    # bundle. A missing file still stops start-up, as it did when it was read at once.
    cafile = os.environ.get("SSL_CERT_FILE") or None
    capath = None if cafile else os.environ.get("SSL_CERT_DIR") or None
    if cafile is None and capath is None:
        import certifi

        cafile = certifi.where()
    if cafile is not None:
        os.stat(cafile)
    # As ssl.create_default_context() sets it up: certificates and host names checked.
    context = _TrustLoadedOnUse(ssl.PROTOCOL_TLS_CLIENT)
    context.verify_mode = ssl.CERT_REQUIRED
    context.check_hostname = True
    keylog = os.environ.get("SSLKEYLOGFILE")
    if keylog and not sys.flags.ignore_environment:
        context.keylog_filename = keylog
    context.defer_verify_locations(cafile=cafile, capath=capath)
    return context


def build_http_client(
    *,
    connect_timeout: float,
    read_timeout: float,
    user_agent: str,
    max_connections: int = 20,
) -> httpx.AsyncClient:
    """The shape of every outgoing client: explicit timeouts, bounded pool, our User-Agent."""
    return httpx.AsyncClient(
        verify=verifying_tls_context(),
        timeout=httpx.Timeout(read_timeout, connect=connect_timeout, pool=connect_timeout),
        limits=httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        ),
        headers={"User-Agent": user_agent},
        follow_redirects=False,
    )
