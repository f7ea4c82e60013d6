"""The aiohttp application: REST under ``/api/v10``, the gateway socket, attachment
downloads, plus the middleware that records requests, injects faults, answers
Discord-style errors and adds rate-limit headers."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import BodyPartReader, web

from .errors import DiscordAPIError
from .faults import FaultRule, rate_limit_headers
from .gateway import Gateway
from .messaging import MessageBody, Messaging
from .models import Upload
from .ratelimits import ChannelPostLimits
from .records import RequestRecord
from .state import StandInState

_log = logging.getLogger(__name__)

API_PREFIX = "/api/v10"
GATEWAY_PATH = "/gateway"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: Per-request storage used by the middleware and the handlers.
STARTED_KEY = web.RequestKey("standin_started", float)
TOUCHED_KEY = web.RequestKey[list[int]]("standin_touched")
BODY_KEY = web.RequestKey[Any]("standin_body")
UNKNOWN_KEY = web.RequestKey("standin_unknown", bool)

#: Routes discord.py calls without the bot token (webhook/interaction tokens instead).
_TOKENLESS_PREFIXES = ("/interactions/", "/webhooks/")


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """JSON with Content-Type exactly ``application/json`` (discord.py compares it exactly;
    ``web.json_response`` would add ``; charset=utf-8``)."""
    hdrs = {"Content-Type": "application/json"}
    if headers:
        hdrs.update(headers)
    return web.Response(body=json.dumps(data).encode(), status=status, headers=hdrs)


def no_content() -> web.Response:
    return web.Response(status=204)


@dataclass
class RestConfig:
    rate_limit_headers: bool = True
    ack_deadline: float | None = 3.0
    expected_token: str | None = None
    channel_posts: ChannelPostLimits = field(default_factory=ChannelPostLimits)
    """Discord's per-channel message-post limit (5 per 5 s by default)."""


async def read_body(request: web.Request) -> MessageBody:
    """JSON body, or multipart with ``payload_json`` and ``files[n]`` as discord.py sends."""
    if request.content_type == "multipart/form-data":
        payload: dict[str, Any] = {}
        files: dict[int, Upload] = {}
        reader = await request.multipart()
        while True:
            part = await reader.next()
            if part is None:
                break
            if not isinstance(part, BodyPartReader):
                continue
            name = part.name or ""
            if name == "payload_json":
                payload = json.loads(await part.text())
            elif name.startswith("files[") and name.endswith("]"):
                index = int(name[6:-1])
                data = await part.read(decode=False)
                files[index] = Upload(
                    part.filename or f"file{index}", bytes(data), part.headers.get("Content-Type")
                )
            elif name.startswith("file"):
                data = await part.read(decode=False)
                files[len(files)] = Upload(
                    part.filename or name, bytes(data), part.headers.get("Content-Type")
                )
        return MessageBody(payload=payload, files=files)
    raw = await request.read()
    if not raw:
        return MessageBody(payload={}, files={})
    try:
        parsed = json.loads(raw)
    except ValueError:
        raise DiscordAPIError(400, 50109, "The request body contains invalid JSON.") from None
    if not isinstance(parsed, dict):
        return MessageBody(payload={"__list__": parsed}, files={})
    return MessageBody(payload=parsed, files={})


class RestContext:
    """Everything a route handler needs."""

    def __init__(
        self, state: StandInState, gateway: Gateway, messaging: Messaging, config: RestConfig
    ) -> None:
        self.state = state
        self.gateway = gateway
        self.messaging = messaging
        self.config = config


def build_app(
    ctx: RestContext, register: list[Callable[[web.UrlDispatcher, RestContext], None]]
) -> web.Application:
    app = web.Application(middlewares=[_make_middleware(ctx)], client_max_size=64 * 1024 * 1024)
    app.router.add_get(GATEWAY_PATH, ctx.gateway.handle)
    app.router.add_get("/attachments/{attachment_id}/{filename}", _attachment_handler(ctx))
    for reg in register:
        reg(app.router, ctx)
    app.router.add_route("*", "/{tail:.*}", _unknown_handler(ctx))
    return app


def _attachment_handler(ctx: RestContext) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        att = ctx.state.attachment_blobs.get(int(request.match_info["attachment_id"]))
        if att is None:
            return web.Response(status=404, text="Not Found")
        return web.Response(
            body=att.data, content_type=att.content_type or "application/octet-stream"
        )

    return handler


def _unknown_handler(ctx: RestContext) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        request[UNKNOWN_KEY] = True
        return json_response({"message": "404: Not Found", "code": 0}, status=404)

    return handler


def _bucket_for(request: web.Request) -> str:
    route = request.match_info.route
    resource = route.resource
    canonical = resource.canonical if resource is not None else request.path
    return hashlib.sha1(
        f"{request.method} {canonical}".encode(), usedforsecurity=False
    ).hexdigest()[:16]


def _fault_response(fault: FaultRule) -> web.Response:
    headers = dict(fault.headers)
    body = fault.body
    if fault.status == 429 and not headers:
        retry = float(body.get("retry_after", 0.05)) if isinstance(body, dict) else 0.05
        is_global = bool(body.get("global")) if isinstance(body, dict) else False
        headers = rate_limit_headers(retry, is_global=is_global)
    if isinstance(body, (dict, list)):
        return json_response(body, status=fault.status, headers=headers)
    return web.Response(text=str(body), status=fault.status, headers=headers)


def _add_rate_limit_headers(request: web.Request, response: web.StreamResponse) -> None:
    """A roomy bucket on every answer, as Discord sends. Without these headers
    discord.py assumes a limit of 1 and serialises concurrent calls per route."""
    reset_after = 1.0
    response.headers["X-RateLimit-Limit"] = "50"
    response.headers["X-RateLimit-Remaining"] = "49"
    response.headers["X-RateLimit-Reset"] = f"{time.time() + reset_after:.3f}"
    response.headers["X-RateLimit-Reset-After"] = f"{reset_after:.3f}"
    response.headers["X-RateLimit-Bucket"] = _bucket_for(request)


async def _handle(
    ctx: RestContext, request: web.Request, handler: Handler, path: str
) -> web.StreamResponse:
    fault = ctx.state.faults.take(request.method, path)
    if fault is not None:
        return _fault_response(fault)
    limits = ctx.config.channel_posts
    channel_id = limits.channel_of(request.method, path)
    verdict = None if channel_id is None else limits.take(channel_id)
    if verdict is not None and not verdict.allowed:
        return json_response(verdict.body(), status=429,
                             headers=verdict.headers(_bucket_for(request)))
    try:
        _check_auth(ctx, request, path)
        response = await handler(request)
    except DiscordAPIError as exc:
        response = json_response(exc.body(), status=exc.status, headers=exc.headers)
    except Exception as exc:  # a bug in the stand-in: answer 400 so discord.py does not retry
        _log.exception("Discord stand-in failed on %s %s", request.method, path)
        ctx.state.internal_errors.append(f"{request.method} {path}: {exc!r}")
        response = json_response(
            {"message": f"Discord stand-in internal error: {exc!r}", "code": 0}, status=400
        )
    if verdict is not None:
        response.headers.update(verdict.headers(_bucket_for(request)))
    elif ctx.config.rate_limit_headers and response.status != 429:
        _add_rate_limit_headers(request, response)
    return response


def _make_middleware(ctx: RestContext) -> Any:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith(API_PREFIX + "/"):
            return await handler(request)
        path = request.path[len(API_PREFIX) :]
        started = time.perf_counter()
        state = ctx.state
        state.inflight_requests += 1
        state.last_request_activity = started
        request[STARTED_KEY] = started
        request[TOUCHED_KEY] = []
        try:
            response = await _handle(ctx, request, handler, path)
            record = RequestRecord(
                method=request.method,
                path=path,
                query=dict(request.query),
                status=response.status,
                at=started,
                json=request.get(BODY_KEY),
            )
            if state.record:
                state.requests.append(record)
            if request.get(UNKNOWN_KEY):
                state.unknown_requests.append(record)
            # Write the response here so "the bot has its answer" is a known moment.
            await response.prepare(request)
            await response.write_eof()
            return response
        finally:
            state.inflight_requests -= 1
            state.last_request_activity = time.perf_counter()
            for message_id in request[TOUCHED_KEY]:
                state.end_write(message_id)
            state.notify()

    return middleware


def _check_auth(ctx: RestContext, request: web.Request, path: str) -> None:
    if path.startswith(_TOKENLESS_PREFIXES):
        return
    auth = request.headers.get("Authorization", "")
    if not auth.startswith("Bot "):
        raise DiscordAPIError(401, 0, "401: Unauthorized")
    token = auth[4:]
    if ctx.config.expected_token is not None and token != ctx.config.expected_token:
        raise DiscordAPIError(401, 0, "401: Unauthorized")


def touch(request: web.Request, ctx: RestContext, message_id: int) -> None:
    """Mark a message as written by this request: clicks on it wait until the bot has
    received this response (discord.py registers views only after the call returns)."""
    ctx.state.begin_write(message_id)
    request[TOUCHED_KEY].append(message_id)
