"""Warden's metrics, exported with ``prometheus_client`` in the standard text format.

``WardenMetrics`` declares every metric Warden exports; services receive it and record
where things happen (the outbox, the report service, the API retry loop), and
``bot.services.health`` sets the gauges that are read from the database at scrape time
(a collector of our own serves those: it writes only what was read, never a stale 0).

Each ``WardenMetrics`` has its own ``CollectorRegistry``, never prometheus_client's
global one: tests build many apps in one process, and a registry refuses a name twice.
``_created`` series are switched off, so the exposition holds the same names as before
the library (dashboards keep working).

prometheus_client is imported on the first record or scrape, not with this module: its
imports (http.server, wsgiref, ...) cost about 14 ms, and start-up is measured
(bench/RESULTS.md).

More than one process: today each process serves its own ``/metrics`` and Prometheus
sums them. Several processes behind one scrape will need prometheus_client's
multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``, a ``MultiProcessCollector`` in the
serving process's registry, a ``multiprocess_mode`` for each gauge); the scrape-time
gauges read the shared database, so only one process should export them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry
    from prometheus_client.metrics_core import Metric

ATTEMPT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
LATENCY_BUCKETS = (0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 21600.0, 86400.0)


def content_type() -> str:
    """The Content-Type of what ``WardenMetrics.render`` writes."""
    from prometheus_client import CONTENT_TYPE_LATEST

    return CONTENT_TYPE_LATEST


@dataclass(frozen=True)
class _Declared:
    name: str
    help: str
    labels: tuple[str, ...]
    buckets: tuple[float, ...] = ()


class _Recorded:
    """A counter or histogram, made in its owner's registry on first use."""

    def __init__(self, owner: WardenMetrics, declared: _Declared) -> None:
        self._owner = owner
        self.declared = declared

    def _child(self, labels: dict[str, str]) -> Any:
        metric = self._owner.made(self.declared.name)
        return metric.labels(**labels) if labels else metric


class Counter(_Recorded):
    """Only goes up; its name ends in ``_total``."""

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        self._child(labels).inc(amount)


class Histogram(_Recorded):
    def observe(self, value: float, **labels: str) -> None:
        self._child(labels).observe(value)


class ScrapeGauge:
    """A gauge set when ``/metrics`` is read; only the label sets given a value appear."""

    def __init__(self, declared: _Declared) -> None:
        self.declared = declared
        self._values: dict[tuple[str, ...], float] = {}

    def set(self, value: float, **labels: str) -> None:
        if labels.keys() != set(self.declared.labels):
            raise ValueError(
                f"{self.declared.name} takes labels {self.declared.labels}, got {sorted(labels)}"
            )
        self._values[tuple(str(labels[n]) for n in self.declared.labels)] = float(value)

    def family(self) -> Metric:
        from prometheus_client.core import GaugeMetricFamily

        family = GaugeMetricFamily(
            self.declared.name, self.declared.help, labels=self.declared.labels
        )
        for key, value in sorted(self._values.items()):
            family.add_metric(key, value)
        return family


class _ScrapeGauges:
    """The prometheus_client collector of the scrape-time gauges."""

    def __init__(self, gauges: Sequence[ScrapeGauge]) -> None:
        self._gauges = tuple(gauges)

    def collect(self) -> Iterator[Metric]:
        for gauge in self._gauges:
            yield gauge.family()


class WardenMetrics:
    """Every metric Warden exports; one instance per app, built in ``open_app``."""

    def __init__(self) -> None:
        self._registry: CollectorRegistry | None = None
        self._made: dict[str, Any] = {}
        self.reports = Counter(self, _Declared(
            "warden_reports_total",
            "Reports by reason and outcome: drafted (checked and shown for confirmation), "
            "accepted (stored with its deliveries), limited (refused by a report limit), "
            "refused (any other refusal shown to the member).",
            ("reason", "outcome")))
        self.deliveries = Counter(self, _Declared(
            "warden_deliveries_total",
            "Deliveries that reached a final outcome (sent, handed_off, failed, skipped).",
            ("destination", "outcome")))
        self.delivery_retries = Counter(self, _Declared(
            "warden_delivery_retries_total",
            "Delivery attempts that ended in a retry scheduled for later.",
            ("destination",)))
        self.delivery_attempt_seconds = Histogram(self, _Declared(
            "warden_delivery_attempt_seconds",
            "Duration of one delivery attempt (reconciling, sending, recording).",
            ("destination",), ATTEMPT_BUCKETS))
        self.delivery_latency_seconds = Histogram(self, _Declared(
            "warden_delivery_latency_seconds",
            "From a report's acceptance to its delivery's final outcome (held reports "
            "include the wait for a moderator).",
            ("destination",), LATENCY_BUCKETS))
        self.api_errors = Counter(self, _Declared(
            "warden_api_errors_total",
            "Failed calls to outside APIs (every attempt, retried or not) by destination "
            "and code: the upstream's error code, else http_<status>, else the failure kind.",
            ("destination", "code")))
        self.backlog = ScrapeGauge(_Declared(
            "warden_delivery_backlog",
            "Deliveries waiting to be sent or being sent (pending or in flight).", ()))
        self.last_success = ScrapeGauge(_Declared(
            "warden_delivery_last_success_timestamp_seconds",
            "Unix time of the latest successful delivery (sent or handed off).",
            ("destination",)))
        self.link_rejections = Counter(self, _Declared(
            "warden_link_rejections_total",
            "Refused account-linking requests by stage (start, confirm, callback) and "
            "reason; those naming no known member (junk from the internet) are only "
            "counted here, never written to the audit log.",
            ("stage", "reason")))
        self.ready = ScrapeGauge(_Declared(
            "warden_ready",
            "1 while connected to Discord and taking reports, 0 otherwise (starting, "
            "reconnecting, shutting down).", ()))
        self.shard_connected = ScrapeGauge(_Declared(
            "warden_shard_connected",
            "1 while this process's gateway connection for the shard is open, 0 otherwise; "
            "one series per shard the process runs.",
            ("shard",)))
        self._recorded = (self.reports, self.deliveries, self.delivery_retries,
                          self.delivery_attempt_seconds, self.delivery_latency_seconds,
                          self.api_errors, self.link_rejections)
        self._scraped = (self.backlog, self.last_success, self.ready, self.shard_connected)

    def made(self, name: str) -> Any:
        """The prometheus_client metric called ``name``."""
        if self._registry is None:
            self._registry = self._build()
        return self._made[name]

    def render(self) -> str:
        """The exposition, in ``content_type()``."""
        from prometheus_client import generate_latest

        if self._registry is None:
            self._registry = self._build()
        return generate_latest(self._registry).decode("utf-8")

    def _build(self) -> CollectorRegistry:
        import prometheus_client
        from prometheus_client import CollectorRegistry

        # The library adds a <name>_created series to every counter and histogram; Warden
        # never exported those.
        prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]
        registry = CollectorRegistry(auto_describe=True)
        for metric in self._recorded:
            declared = metric.declared
            if isinstance(metric, Histogram):
                self._made[declared.name] = prometheus_client.Histogram(
                    declared.name, declared.help, declared.labels,
                    buckets=declared.buckets, registry=registry)
            else:
                self._made[declared.name] = prometheus_client.Counter(
                    declared.name, declared.help, declared.labels, registry=registry)
        registry.register(_ScrapeGauges(self._scraped))
        return registry
