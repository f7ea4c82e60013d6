"""Warden: a Discord player-report bot for game communities."""

__version__ = "0.1.0"
USER_AGENT = f"Warden/{__version__} (+https://github.com/warden-bot/warden)"
