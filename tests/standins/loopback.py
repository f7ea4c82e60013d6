"""The life cycle every HTTP stand-in shares: an aiohttp app served on 127.0.0.1 at a
port the OS picks, started and stopped as an async context manager."""

from __future__ import annotations

from typing import Self

from aiohttp import web


class LoopbackServer:
    """Subclasses build their routes in ``build_app``; ``base_url`` is set by ``start``."""

    _runner: web.AppRunner | None = None
    base_url: str = ""

    def build_app(self) -> web.Application:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        # handler_cancellation: a client that gave up stops a slow handler, so a "slow"
        # fault without ``landed`` never does the work after the client left.
        self._runner = web.AppRunner(
            self.build_app(), access_log=None, handler_cancellation=True, shutdown_timeout=0.5
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
