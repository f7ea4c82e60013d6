"""Where discord.py sends its REST calls and opens its gateway websocket.

discord.py keeps both addresses in class attributes: ``discord.http.Route.BASE``
(read whenever a ``Route`` is built, so it also covers interaction callbacks and
webhook follow-ups) and ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY``
(a ``yarl.URL``). The bot calls :func:`point_discord_at` once at start-up with
the ``DISCORD_API_BASE_URL`` and ``DISCORD_GATEWAY_URL`` settings; tests use it
to aim a real client at the local Discord stand-in.
"""

from __future__ import annotations

import discord.gateway
import discord.http
import yarl

__all__ = [
    "DEFAULT_API_BASE_URL",
    "DEFAULT_GATEWAY_URL",
    "DISCORD_CDN_HOSTS",
    "current_endpoints",
    "is_discord_cdn_url",
    "point_discord_at",
]

DEFAULT_API_BASE_URL = "https://discord.com/api/v10"
DEFAULT_GATEWAY_URL = "wss://gateway.discord.gg"
DISCORD_CDN_HOSTS = frozenset({"cdn.discordapp.com", "media.discordapp.net"})
"""Where Discord serves attachments; evidence is downloaded from nowhere else."""


def point_discord_at(api_base_url: str, gateway_url: str) -> None:
    """Send discord.py's REST calls to ``api_base_url`` and its gateway to ``gateway_url``.

    ``api_base_url`` includes the API version (``https://discord.com/api/v10``);
    a trailing slash is dropped because discord.py appends paths starting with
    ``/``. ``gateway_url`` is a ``ws://`` or ``wss://`` URL; discord.py adds the
    ``v``/``encoding``/``compress`` query itself.

    This changes process-wide class attributes, so it affects every client in
    the process. It raises ``ValueError`` for URLs of the wrong scheme.
    """
    api = api_base_url.rstrip("/")
    api_url = yarl.URL(api)
    if api_url.scheme not in ("http", "https") or not api_url.host:
        raise ValueError(f"Discord API base URL must be an http(s) URL, got {api_base_url!r}")
    gateway = yarl.URL(gateway_url)
    if gateway.scheme not in ("ws", "wss") or not gateway.host:
        raise ValueError(f"Discord gateway URL must be a ws(s) URL, got {gateway_url!r}")
    discord.http.Route.BASE = api
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = gateway


def current_endpoints() -> tuple[str, str]:
    """Return the ``(api_base_url, gateway_url)`` discord.py currently uses."""
    return discord.http.Route.BASE, str(discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)


def is_discord_cdn_url(url: str) -> bool:
    """Whether Warden may download ``url``: https on Discord's CDN hosts, or, when
    ``DISCORD_API_BASE_URL`` points elsewhere than Discord (the stand-in in tests, which
    serves attachments itself), that base's own origin.

    discord.py's ``get_from_cdn`` fetches any URL it is given; this keeps a URL that
    did not come from Discord from making Warden fetch an internal address.
    """
    try:
        target = yarl.URL(url)
        if target.scheme == "https" and target.host in DISCORD_CDN_HOSTS and target.port == 443:
            return True
        api = yarl.URL(discord.http.Route.BASE).origin()
        if api == yarl.URL(DEFAULT_API_BASE_URL).origin():
            return False
        return target.scheme in ("http", "https") and target.origin() == api
    except (TypeError, ValueError):
        return False
