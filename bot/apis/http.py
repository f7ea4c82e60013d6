"""How Warden talks HTTP to the outside APIs: the one shape of every outgoing client,
the shared certificate-checking TLS context, and ``send``, which maps transport
failures to ``Unavailable`` or ``AmbiguousSend``. Whether to try again is
``bot.apis.retry``'s business.
"""

from __future__ import annotations

import functools
import os
import ssl
import sys
from typing import Any

import httpx

from bot.apis.errors import AmbiguousSend, Unavailable


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
