"""The bot's own small web server: the OAuth start and callback routes and a health check."""

from bot.web.server import WebServer, build_app

__all__ = ["WebServer", "build_app"]
