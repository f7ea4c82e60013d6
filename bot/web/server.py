"""The bot's web server: aiohttp, inside the bot's own event loop.

Always: ``GET /livez`` (public liveness), ``GET /healthz`` and ``GET /metrics`` for
operators (``bot.web.ops``). With account linking configured, the OAuth routes too, all
fixed because operators register the callbacks with the providers:
``GET /oauth/{bungie,game}/start`` (the confirmation page), ``POST`` to the same path
(its form, which goes on to the provider) and ``GET /oauth/{bungie,game}/callback``.
Anything else is a 404 with the same security headers.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from bot.domain import Provider
from bot.i18n.locales import accept_language
from bot.log_safe import printable
from bot.services.health import HealthService
from bot.services.linking.service import (
    STATE_TTL,
    LinkingService,
    Redirect,
    Rejected,
    looks_like_secret,
)
from bot.web.ops import OPS_PATHS, add_ops_routes
from bot.web.pages import (
    SECURITY_HEADERS,
    internal_error_page,
    linked_page,
    not_found_page,
    rejected_page,
    render,
    render_confirm,
)

log = logging.getLogger(__name__)

_SERVICE_KEY = web.AppKey("linking", LinkingService)
_SECURE_KEY = web.AppKey("secure_cookies", bool)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class PathOnlyAccessLogger(AbstractAccessLogger):
    """Access lines without query strings: those hold one-time secrets and codes."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        # Monitoring polls the operator routes every few seconds, and scanners probe
        # paths that do not exist: neither is worth a line each.
        quiet = request.path in OPS_PATHS or response.status in (404, 405)
        # The path is the sender's text, decoded: %0a must not start a forged line.
        self.logger.log(logging.DEBUG if quiet else logging.INFO, "%s %s %s %.3fs",
                        printable(request.method), printable(request.path),
                        response.status, time)


@web.middleware
async def _pages_for_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Our own page for 404/405 and for bugs: never aiohttp's default or a traceback."""
    try:
        return await handler(request)
    except web.HTTPNotFound:
        return render(not_found_page())
    except web.HTTPMethodNotAllowed:
        page = not_found_page()
        response = render(page)
        response.set_status(405)
        return response
    except web.HTTPException:
        raise
    except Exception:
        log.exception("callback server error on %s", printable(request.path))
        return render(internal_error_page())


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        # A page may widen its own CSP (the confirmation page's form-action).
        response.headers.setdefault(name, value)
    response.headers.pop("Server", None)


def browser_cookie_name(provider: Provider, *, secure: bool) -> str:
    """One cookie per provider, so a member can link both in parallel tabs.

    ``__Host-`` (browsers then insist on Secure, Path=/ and no Domain, so no sibling
    subdomain can plant or read it) only when cookies are Secure: a browser drops a
    ``__Host-`` cookie that is not, which would break plain-http set-ups such as tests
    on loopback.
    """
    return ("__Host-" if secure else "") + f"warden_oauth_{provider.value}"


def _browser_nonce(request: web.Request, provider: Provider) -> str | None:
    name = browser_cookie_name(provider, secure=request.app[_SECURE_KEY])
    value = request.cookies.get(name)
    return value if looks_like_secret(value) else None


def _set_browser_nonce(
    request: web.Request, response: web.StreamResponse, provider: Provider, nonce: str
) -> None:
    secure = request.app[_SECURE_KEY]
    response.set_cookie(
        browser_cookie_name(provider, secure=secure),
        nonce,
        max_age=int(STATE_TTL),
        path="/",
        httponly=True,
        secure=secure,
        samesite="Lax",  # sent on the provider's top-level redirect back, not on embeds
    )


def _browser_locale(request: web.Request) -> str | None:
    return accept_language(request.headers.get("Accept-Language", ""))


def _start_handler(provider: Provider) -> Handler:
    async def start(request: web.Request) -> web.StreamResponse:
        service = request.app[_SERVICE_KEY]
        result = await service.begin(provider, request.query.get("t"))
        if isinstance(result, Rejected):
            return render(rejected_page(result), locale=_browser_locale(request))
        response = render_confirm(result, service.start_url(provider),
                                  locale=_browser_locale(request))
        _set_browser_nonce(request, response, provider, result.browser_nonce)
        return response

    return start


def _confirm_handler(provider: Provider) -> Handler:
    async def confirm(request: web.Request) -> web.StreamResponse:
        service = request.app[_SERVICE_KEY]
        form = await request.post()
        token = form.get("csrf")
        result = await service.proceed(
            provider, token if isinstance(token, str) else None,
            browser_nonce=_browser_nonce(request, provider),
        )
        if isinstance(result, Rejected):
            return render(rejected_page(result), locale=_browser_locale(request))
        assert isinstance(result, Redirect)
        # 303: the browser follows with a GET, as the provider's authorize page expects.
        response = web.Response(status=303, headers={"Location": result.url})
        _set_browser_nonce(request, response, provider, result.browser_nonce)
        return response

    return confirm


def _callback_handler(provider: Provider) -> Handler:
    async def callback(request: web.Request) -> web.StreamResponse:
        service = request.app[_SERVICE_KEY]
        result = await service.complete(
            provider, request.query, browser_nonce=_browser_nonce(request, provider)
        )
        if isinstance(result, Rejected):
            return render(rejected_page(result), locale=_browser_locale(request))
        return render(linked_page(result), locale=_browser_locale(request))

    return callback


def build_app(
    service: LinkingService | None, *, secure_cookies: bool, health: HealthService | None = None
) -> web.Application:
    """``service`` None: account linking is off, so no OAuth route exists."""
    app = web.Application(middlewares=[_pages_for_errors], client_max_size=16 * 1024)
    app[_SECURE_KEY] = secure_cookies
    if service is not None:
        app[_SERVICE_KEY] = service
        for provider in Provider:
            # No HEAD: a link checker's HEAD request must not spend a one-time start link.
            app.router.add_get(service.start_path(provider), _start_handler(provider),
                               allow_head=False)
            app.router.add_post(service.start_path(provider), _confirm_handler(provider))
            app.router.add_get(service.callback_path(provider), _callback_handler(provider),
                               allow_head=False)
    if health is not None:
        add_ops_routes(app, health)
    app.on_response_prepare.append(_security_headers)
    return app


class WebServer:
    """Start and stop the web server; ``port`` is the bound port (useful with 0)."""

    def __init__(
        self,
        service: LinkingService | None,
        *,
        host: str,
        port: int,
        secure_cookies: bool,
        health: HealthService | None = None,
    ) -> None:
        self._app = build_app(service, secure_cookies=secure_cookies, health=health)
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    @property
    def running(self) -> bool:
        return self._runner is not None

    async def start(self) -> None:
        if self._runner is not None:
            return
        runner = web.AppRunner(
            self._app, access_log_class=PathOnlyAccessLogger, shutdown_timeout=2.0
        )
        await runner.setup()
        try:
            site = web.TCPSite(runner, self._host, self._port)
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise OSError(
                exc.errno, f"cannot listen on {self._host}:{self._port} (WEB_HOST, WEB_PORT): "
                f"{exc.strerror}"
            ) from None
        self._runner = runner
        self.port = runner.addresses[0][1]
        log.info("web server listening on %s:%s", self._host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()
