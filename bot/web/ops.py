"""The operator routes: ``/healthz`` (JSON, 200 when healthy, 503 otherwise) and
``/metrics`` (the Prometheus text format, written by prometheus_client)."""

from __future__ import annotations

from aiohttp import web

from bot.metrics import content_type
from bot.services.health import HealthService

OPS_PATHS = frozenset({"/healthz", "/metrics"})
_HEALTH_KEY = web.AppKey("health", HealthService)


async def _healthz(request: web.Request) -> web.StreamResponse:
    health = await request.app[_HEALTH_KEY].check()
    return web.json_response(health.as_json(), status=200 if health.healthy else 503)


async def _metrics(request: web.Request) -> web.StreamResponse:
    text = await request.app[_HEALTH_KEY].metrics_text()
    return web.Response(body=text.encode("utf-8"), headers={"Content-Type": content_type()})


def add_ops_routes(app: web.Application, health: HealthService) -> None:
    app[_HEALTH_KEY] = health
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/metrics", _metrics)
