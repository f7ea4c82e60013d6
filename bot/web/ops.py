"""The operator routes: ``/livez`` (public liveness), ``/healthz`` (JSON, 200 when
healthy, 503 otherwise) and ``/metrics`` (the Prometheus text format, written by prometheus_client).

``/healthz`` and ``/metrics`` tell the delivery backlog, last successes and database
errors, and ``/healthz`` writes to the database on every call: they are for monitoring
on the host or private network. A request that came through a reverse proxy (it
carries a forwarding header) gets a 404 there, so a proxy that forwards everything
still does not publish them. ``/livez`` is the one a proxy may expose: it answers
``ok`` without touching the database.
"""

from __future__ import annotations

from aiohttp import web

from bot.metrics import content_type
from bot.services.health import HealthService

OPS_PATHS = frozenset({"/livez", "/healthz", "/metrics"})
_HEALTH_KEY = web.AppKey("health", HealthService)
FORWARDING_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Real-IP", "X-Forwarded-Host")
"""Set by reverse proxies (Caddy always adds X-Forwarded-For; nginx with the README's
``proxy_set_header``); a client on the host or private network sends none of them."""


def _through_a_proxy(request: web.Request) -> bool:
    return any(name in request.headers for name in FORWARDING_HEADERS)


async def _livez(request: web.Request) -> web.StreamResponse:
    return web.json_response({"status": "ok"})


async def _healthz(request: web.Request) -> web.StreamResponse:
    if _through_a_proxy(request):
        raise web.HTTPNotFound()
    health = await request.app[_HEALTH_KEY].check()
    return web.json_response(health.as_json(), status=200 if health.healthy else 503)


async def _metrics(request: web.Request) -> web.StreamResponse:
    if _through_a_proxy(request):
        raise web.HTTPNotFound()
    text = await request.app[_HEALTH_KEY].metrics_text()
    return web.Response(body=text.encode("utf-8"), headers={"Content-Type": content_type()})


def add_ops_routes(app: web.Application, health: HealthService) -> None:
    app[_HEALTH_KEY] = health
    app.router.add_get("/livez", _livez)
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/metrics", _metrics)
