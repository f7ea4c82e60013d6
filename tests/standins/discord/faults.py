"""Scripted REST failures: "the next N requests matching METHOD + path regex get this answer"."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class FaultRule:
    """One scripted failure. ``path_regex`` is searched in the path below ``/api/v10``
    (``/channels/123/messages``); ``method`` ``"*"`` matches any method."""

    method: str
    path_regex: re.Pattern[str]
    status: int
    body: Any
    headers: dict[str, str]
    times: int
    hits: int = 0
    description: str = ""

    def matches(self, method: str, path: str) -> bool:
        return (self.method == "*" or self.method == method.upper()) and bool(
            self.path_regex.search(path)
        )


@dataclass
class FaultInjector:
    rules: list[FaultRule] = field(default_factory=list)
    fired: list[tuple[str, str, int]] = field(default_factory=list)

    def add(
        self,
        method: str,
        path_regex: str,
        status: int,
        *,
        body: Any = None,
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> FaultRule:
        if body is None:
            body = default_body(status)
        rule = FaultRule(
            method=method.upper(),
            path_regex=re.compile(path_regex),
            status=status,
            body=body,
            headers=dict(headers or {}),
            times=times,
            description=f"{method.upper()} {path_regex} -> {status} x{times}",
        )
        self.rules.append(rule)
        return rule

    def take(self, method: str, path: str) -> FaultRule | None:
        """The first live rule matching this request, consuming one of its uses."""
        for rule in self.rules:
            if rule.hits < rule.times and rule.matches(method, path):
                rule.hits += 1
                self.fired.append((method, path, rule.status))
                return rule
        return None

    def pending(self) -> list[FaultRule]:
        return [r for r in self.rules if r.hits < r.times]

    def clear(self) -> None:
        self.rules.clear()


def default_body(status: int) -> Any:
    if status == 429:
        return {"message": "You are being rate limited.", "retry_after": 0.05, "global": False}
    if status >= 500:
        return {"message": "500: Internal Server Error", "code": 0}
    if status == 403:
        return {"message": "Missing Permissions", "code": 50013}
    if status == 404:
        return {"message": "404: Not Found", "code": 0}
    return {"message": f"{status}", "code": 0}


def rate_limit_headers(
    retry_after: float, *, is_global: bool = False, bucket: str = "standin-fault"
) -> dict[str, str]:
    """Headers Discord sends with a 429. discord.py treats a 429 without ``Via`` as a
    Cloudflare ban and raises instead of retrying, so ``Via`` is included."""
    reset = time.time() + retry_after
    headers = {
        "Retry-After": f"{max(retry_after, 0):.3f}",
        "X-RateLimit-Limit": "5",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": f"{reset:.3f}",
        "X-RateLimit-Reset-After": f"{retry_after:.3f}",
        "X-RateLimit-Bucket": bucket,
        "X-RateLimit-Scope": "shared" if not is_global else "user",
        "Via": "1.1 google",
    }
    if is_global:
        headers["X-RateLimit-Global"] = "true"
    return headers
