"""Warden's own vocabulary and core records, shared by every layer."""

from bot.domain.vocabulary import Destination, GamePlatform, Provider, Reason

__all__ = ["Destination", "GamePlatform", "Provider", "Reason"]
