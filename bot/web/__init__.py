"""The bot's own small web server: health and metrics always, OAuth routes with linking."""

from bot.web.server import WebServer, build_app

__all__ = ["WebServer", "build_app"]
