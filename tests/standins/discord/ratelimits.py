"""Discord's per-channel limit on posting messages, announced the way Discord does.

Discord lets a bot post about 5 messages per 5 seconds in one channel (DM channels
included). Every ``POST /channels/{id}/messages`` answer carries the bucket's
``X-RateLimit-*`` headers (limit, remaining, reset, reset-after, bucket); a post over
the limit gets 429 with ``{"message", "retry_after", "global": false}`` and the same
headers plus ``Retry-After`` and ``X-RateLimit-Scope: user``, which is what discord.py
reads to wait (it also waits on its own once ``remaining`` reaches 0). Windows are
fixed, starting at a channel's first post, as the reset headers describe them.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

CHANNEL_POST = re.compile(r"^/channels/(\d+)/messages$")
DEFAULT_POSTS = 5
DEFAULT_WINDOW = 5.0


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset_after: float

    def headers(self, bucket: str) -> dict[str, str]:
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": f"{time.time() + self.reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{self.reset_after:.3f}",
            "X-RateLimit-Bucket": bucket,
        }
        if not self.allowed:
            # discord.py treats a 429 without Via as a Cloudflare ban and does not retry.
            headers.update({"Retry-After": f"{self.reset_after:.3f}",
                            "X-RateLimit-Scope": "user", "Via": "1.1 google"})
        return headers

    def body(self) -> dict[str, object]:
        return {"message": "You are being rate limited.", "retry_after": self.reset_after,
                "global": False}


@dataclass
class ChannelPostLimits:
    """``posts`` per ``window`` seconds per channel; ``posts=0`` turns the limit off."""

    posts: int = DEFAULT_POSTS
    window: float = DEFAULT_WINDOW
    clock: Callable[[], float] = time.monotonic
    refused: Counter[int] = field(default_factory=Counter)
    """Channel id -> posts answered 429."""
    allowed_at: dict[int, list[float]] = field(default_factory=dict)
    """Channel id -> when each allowed post arrived (``clock``)."""
    _windows: dict[int, tuple[float, int]] = field(default_factory=dict)
    _peak: Counter[int] = field(default_factory=Counter)

    def channel_of(self, method: str, path: str) -> int | None:
        if self.posts <= 0 or method != "POST":
            return None
        match = CHANNEL_POST.match(path)
        return None if match is None else int(match.group(1))

    def take(self, channel_id: int) -> Verdict:
        now = self.clock()
        start, used = self._windows.get(channel_id, (now, 0))
        if now - start >= self.window:
            start, used = now, 0
        reset_after = max(start + self.window - now, 0.001)
        if used >= self.posts:
            self.refused[channel_id] += 1
            return Verdict(False, self.posts, 0, reset_after)
        self._windows[channel_id] = (start, used + 1)
        self._peak[channel_id] = max(self._peak[channel_id], used + 1)
        self.allowed_at.setdefault(channel_id, []).append(now)
        return Verdict(True, self.posts, self.posts - used - 1, reset_after)

    def most_in_any_window(self, channel_id: int) -> int:
        """The most posts allowed in one rate-limit window of the channel (windows are
        fixed from their first post, as Discord's reset headers describe them; a sliding
        span across two windows may hold more, as it may on Discord)."""
        return self._peak[channel_id]
