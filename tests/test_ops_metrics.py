"""The in-house metrics registry writes what a Prometheus server can scrape."""

from __future__ import annotations

import math

import pytest

from bot.metrics import CONTENT_TYPE, Counter, Gauge, Histogram, Registry, WardenMetrics
from tests.prom_text import FormatError, parse


def test_counters_gauges_and_histograms_render_in_the_text_format() -> None:
    registry = Registry()
    hits = registry.add(Counter("demo_hits_total", "Hits.\nSecond line \\ here.",
                                ("path",)))
    temp = registry.add(Gauge("demo_temperature", "Temperature."))
    wait = registry.add(Histogram("demo_wait_seconds", "Waits.", ("queue",),
                                  buckets=(0.1, 1.0)))
    hits.inc(path="/a")
    hits.inc(2, path="/a")
    hits.inc(path='we"ird\\path\nwith newline')
    temp.set(-3.5)
    for value in (0.05, 0.1, 0.5, 7.0):
        wait.observe(value, queue="q")

    families = parse(registry.render())

    assert families["demo_hits_total"].type == "counter"
    assert families["demo_hits_total"].help == "Hits.\nSecond line \\ here."
    assert families["demo_hits_total"].value(path="/a") == 3
    assert families["demo_hits_total"].value(path='we"ird\\path\nwith newline') == 1
    assert families["demo_temperature"].value() == -3.5
    histogram = families["demo_wait_seconds"]
    assert histogram.type == "histogram"
    assert histogram.value("demo_wait_seconds_bucket", queue="q", le="0.1") == 2  # le is <=
    assert histogram.value("demo_wait_seconds_bucket", queue="q", le="1") == 3
    assert histogram.value("demo_wait_seconds_bucket", queue="q", le="+Inf") == 4
    assert histogram.value("demo_wait_seconds_count", queue="q") == 4
    assert histogram.value("demo_wait_seconds_sum", queue="q") == pytest.approx(7.65)


def test_a_metric_nobody_recorded_yet_is_declared_without_samples() -> None:
    registry = Registry()
    registry.add(Counter("demo_total", "Nothing yet.", ("kind",)))
    text = registry.render()
    assert text == "# HELP demo_total Nothing yet.\n# TYPE demo_total counter\n"
    assert parse(text)["demo_total"].samples == []


def test_misuse_is_refused_at_once() -> None:
    registry = Registry()
    counter = registry.add(Counter("demo_total", "x", ("kind",)))
    with pytest.raises(ValueError, match="takes labels"):
        counter.inc(other="y")
    with pytest.raises(ValueError, match="takes labels"):
        counter.inc()
    with pytest.raises(ValueError, match="cannot go down"):
        counter.inc(-1, kind="a")
    with pytest.raises(ValueError, match="already registered"):
        registry.add(Counter("demo_total", "again"))
    with pytest.raises(ValueError, match="invalid metric name"):
        Counter("demo-total", "x")
    with pytest.raises(ValueError, match="invalid label name"):
        Histogram("demo_seconds", "x", ("le",), buckets=(1.0,))


def test_the_reader_in_these_tests_does_reject_broken_text() -> None:
    # The checks above are only worth something if the reader can say no.
    for broken in (
        "demo_total 1\n",  # no TYPE
        "# TYPE demo_total counter\ndemo_total{a=\"x\\t\"} 1\n",  # bad escape
        "# TYPE demo_total counter\ndemo_total 1\ndemo_total 2\n",  # duplicate series
        "# TYPE demo_total counter\ndemo_total one\n",  # not a number
        "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n",
        "# TYPE demo_total counter\ndemo_total 1",  # no final newline
    ):
        with pytest.raises(FormatError):
            parse(broken)


def test_every_warden_metric_is_declared_with_help_and_type() -> None:
    metrics = WardenMetrics()
    families = parse(metrics.render())
    assert set(families) == {
        "warden_reports_total",
        "warden_deliveries_total",
        "warden_delivery_retries_total",
        "warden_delivery_attempt_seconds",
        "warden_delivery_latency_seconds",
        "warden_api_errors_total",
        "warden_delivery_backlog",
        "warden_delivery_last_success_timestamp_seconds",
        "warden_ready",
        "warden_link_rejections_total",
    }
    for family in families.values():
        assert family.help and family.type in {"counter", "gauge", "histogram"}
        if family.type == "counter":
            assert family.name.endswith("_total")
    assert CONTENT_TYPE == "text/plain; version=0.0.4; charset=utf-8"


def test_values_are_written_as_prometheus_reads_them() -> None:
    registry = Registry()
    gauge = registry.add(Gauge("demo_value", "x", ("case",)))
    gauge.set(1e21, case="big")
    gauge.set(0.25, case="fraction")
    gauge.set(math.inf, case="inf")
    gauge.set(12, case="whole")
    family = parse(registry.render())["demo_value"]
    assert family.value(case="big") == 1e21
    assert family.value(case="fraction") == 0.25
    assert family.value(case="inf") == math.inf
    assert "demo_value{case=\"whole\"} 12\n" in registry.render()
