"""Warden's metrics: a tiny in-process registry and the Prometheus text format (0.0.4).

No client library: three instrument kinds (counter, gauge, histogram) with fixed label
names are all ``/metrics`` needs. Everything runs on the event loop's thread, so no
locks. ``WardenMetrics`` declares every metric Warden exports; services receive it and
record where things happen (the outbox, the report service, the API retry loop), and
``bot.services.health`` fills the gauges that are read from the database at scrape time.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from typing import TypeVar

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")

LabelValues = tuple[str, ...]


def format_value(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(value)


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _labels(names: Sequence[str], values: Sequence[str],
            extra: tuple[str, str] | None = None) -> str:
    pairs = [f'{n}="{_escape_label(v)}"' for n, v in zip(names, values, strict=True)]
    if extra is not None:
        pairs.append(f'{extra[0]}="{_escape_label(extra[1])}"')
    return "{" + ",".join(pairs) + "}" if pairs else ""


class _Metric:
    kind = "untyped"

    def __init__(self, name: str, help_text: str, labels: Sequence[str] = ()) -> None:
        if not _NAME.fullmatch(name):
            raise ValueError(f"invalid metric name {name!r}")
        for label in labels:
            if not _LABEL.fullmatch(label) or label.startswith("__") or label == "le":
                raise ValueError(f"invalid label name {label!r} for {name}")
        self.name = name
        self.help = help_text
        self.label_names = tuple(labels)

    def _key(self, labels: dict[str, str]) -> LabelValues:
        if labels.keys() != set(self.label_names):
            raise ValueError(f"{self.name} takes labels {self.label_names}, got {sorted(labels)}")
        return tuple(str(labels[n]) for n in self.label_names)

    def samples(self) -> Iterable[str]:
        raise NotImplementedError

    def render(self) -> list[str]:
        return [f"# HELP {self.name} {_escape_help(self.help)}",
                f"# TYPE {self.name} {self.kind}", *self.samples()]


class Counter(_Metric):
    """Only goes up; by convention its name ends in ``_total``."""

    kind = "counter"

    def __init__(self, name: str, help_text: str, labels: Sequence[str] = ()) -> None:
        super().__init__(name, help_text, labels)
        self._values: dict[LabelValues, float] = {}

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        if amount < 0:
            raise ValueError("a counter cannot go down")
        key = self._key(labels)
        self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, **labels: str) -> float:
        return self._values.get(self._key(labels), 0.0)

    def samples(self) -> Iterable[str]:
        for key, value in sorted(self._values.items()):
            yield f"{self.name}{_labels(self.label_names, key)} {format_value(value)}"


class Gauge(_Metric):
    kind = "gauge"

    def __init__(self, name: str, help_text: str, labels: Sequence[str] = ()) -> None:
        super().__init__(name, help_text, labels)
        self._values: dict[LabelValues, float] = {}

    def set(self, value: float, **labels: str) -> None:
        self._values[self._key(labels)] = float(value)

    def value(self, **labels: str) -> float | None:
        return self._values.get(self._key(labels))

    def samples(self) -> Iterable[str]:
        for key, value in sorted(self._values.items()):
            yield f"{self.name}{_labels(self.label_names, key)} {format_value(value)}"


class Histogram(_Metric):
    """Cumulative buckets (``le``), ``_sum`` and ``_count`` per label set."""

    kind = "histogram"

    def __init__(self, name: str, help_text: str, labels: Sequence[str] = (), *,
                 buckets: Sequence[float]) -> None:
        super().__init__(name, help_text, labels)
        bounds = sorted(float(b) for b in buckets)
        if not bounds or bounds != sorted(set(bounds)):
            raise ValueError("buckets must be distinct")
        if not math.isinf(bounds[-1]):
            bounds.append(math.inf)
        self.buckets = tuple(bounds)
        self._counts: dict[LabelValues, list[int]] = {}
        self._sums: dict[LabelValues, float] = {}

    def observe(self, value: float, **labels: str) -> None:
        key = self._key(labels)
        counts = self._counts.setdefault(key, [0] * len(self.buckets))
        for i, bound in enumerate(self.buckets):
            if value <= bound:
                counts[i] += 1
                break
        self._sums[key] = self._sums.get(key, 0.0) + value

    def count(self, **labels: str) -> int:
        return sum(self._counts.get(self._key(labels), []))

    def samples(self) -> Iterable[str]:
        for key, counts in sorted(self._counts.items()):
            running = 0
            for bound, count in zip(self.buckets, counts, strict=True):
                running += count
                le = ("le", format_value(bound))
                yield f"{self.name}_bucket{_labels(self.label_names, key, le)} {running}"
            yield (f"{self.name}_sum{_labels(self.label_names, key)} "
                   f"{format_value(self._sums[key])}")
            yield f"{self.name}_count{_labels(self.label_names, key)} {running}"


M = TypeVar("M", bound=_Metric)


class Registry:
    def __init__(self) -> None:
        self._metrics: dict[str, _Metric] = {}

    def add(self, metric: M) -> M:
        if metric.name in self._metrics:
            raise ValueError(f"metric {metric.name} is already registered")
        self._metrics[metric.name] = metric
        return metric

    @property
    def names(self) -> list[str]:
        return list(self._metrics)

    def render(self) -> str:
        lines: list[str] = []
        for metric in self._metrics.values():
            lines.extend(metric.render())
        return "\n".join(lines) + "\n"


ATTEMPT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
LATENCY_BUCKETS = (0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 21600.0, 86400.0)


class WardenMetrics:
    """Every metric Warden exports; one instance per process, built in ``open_app``."""

    def __init__(self) -> None:
        self.registry = r = Registry()
        self.reports = r.add(Counter(
            "warden_reports_total",
            "Reports by reason and outcome: drafted (checked and shown for confirmation), "
            "accepted (stored with its deliveries), limited (refused by a report limit), "
            "refused (any other refusal shown to the member).",
            ("reason", "outcome")))
        self.deliveries = r.add(Counter(
            "warden_deliveries_total",
            "Deliveries that reached a final outcome (sent, handed_off, failed, skipped).",
            ("destination", "outcome")))
        self.delivery_retries = r.add(Counter(
            "warden_delivery_retries_total",
            "Delivery attempts that ended in a retry scheduled for later.",
            ("destination",)))
        self.delivery_attempt_seconds = r.add(Histogram(
            "warden_delivery_attempt_seconds",
            "Duration of one delivery attempt (reconciling, sending, recording).",
            ("destination",), buckets=ATTEMPT_BUCKETS))
        self.delivery_latency_seconds = r.add(Histogram(
            "warden_delivery_latency_seconds",
            "From a report's acceptance to its delivery's final outcome (held reports "
            "include the wait for a moderator).",
            ("destination",), buckets=LATENCY_BUCKETS))
        self.api_errors = r.add(Counter(
            "warden_api_errors_total",
            "Failed calls to outside APIs (every attempt, retried or not) by destination "
            "and code: the upstream's error code, else http_<status>, else the failure kind.",
            ("destination", "code")))
        self.backlog = r.add(Gauge(
            "warden_delivery_backlog",
            "Deliveries waiting to be sent or being sent (pending or in flight)."))
        self.last_success = r.add(Gauge(
            "warden_delivery_last_success_timestamp_seconds",
            "Unix time of the latest successful delivery (sent or handed off).",
            ("destination",)))
        self.link_rejections = r.add(Counter(
            "warden_link_rejections_total",
            "Refused account-linking requests by stage (start, confirm, callback) and "
            "reason; those naming no known member (junk from the internet) are only "
            "counted here, never written to the audit log.",
            ("stage", "reason")))
        self.ready = r.add(Gauge(
            "warden_ready",
            "1 while connected to Discord and taking reports, 0 otherwise (starting, "
            "reconnecting, shutting down)."))

    def render(self) -> str:
        return self.registry.render()
