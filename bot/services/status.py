"""One line of a status list: what ``/warden setup`` and ``python -m bot check`` show for
each thing they look at, with how to fix it when it is a problem."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class CheckState(enum.StrEnum):
    OK = "ok"
    PROBLEM = "problem"
    INFO = "info"


@dataclass(frozen=True)
class CheckItem:
    state: CheckState
    subject: str
    detail: str
    fix: str | None = None
