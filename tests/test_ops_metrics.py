"""Warden's metrics, written by prometheus_client, are what a Prometheus server (and the
dashboards built on the names below) can scrape."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.metrics import WardenMetrics, content_type
from tests.prom_text import FormatError, parse

ROOT = Path(__file__).resolve().parents[1]

# What dashboards query: names, types, label names and HELP must not drift.
DECLARED = {
    "warden_reports_total": (
        "counter", ("reason", "outcome"),
        "Reports by reason and outcome: drafted (checked and shown for confirmation), "
        "accepted (stored with its deliveries), limited (refused by a report limit), "
        "refused (any other refusal shown to the member)."),
    "warden_deliveries_total": (
        "counter", ("destination", "outcome"),
        "Deliveries that reached a final outcome (sent, handed_off, failed, skipped)."),
    "warden_delivery_retries_total": (
        "counter", ("destination",),
        "Delivery attempts that ended in a retry scheduled for later."),
    "warden_delivery_attempt_seconds": (
        "histogram", ("destination",),
        "Duration of one delivery attempt (reconciling, sending, recording)."),
    "warden_delivery_latency_seconds": (
        "histogram", ("destination",),
        "From a report's acceptance to its delivery's final outcome (held reports "
        "include the wait for a moderator)."),
    "warden_api_errors_total": (
        "counter", ("destination", "code"),
        "Failed calls to outside APIs (every attempt, retried or not) by destination "
        "and code: the upstream's error code, else http_<status>, else the failure kind."),
    "warden_delivery_backlog": (
        "gauge", (),
        "Deliveries waiting to be sent or being sent (pending or in flight)."),
    "warden_delivery_last_success_timestamp_seconds": (
        "gauge", ("destination",),
        "Unix time of the latest successful delivery (sent or handed off)."),
    "warden_link_rejections_total": (
        "counter", ("stage", "reason"),
        "Refused account-linking requests by stage (start, confirm, callback) and "
        "reason; those naming no known member (junk from the internet) are only "
        "counted here, never written to the audit log."),
    "warden_ready": (
        "gauge", (),
        "1 while connected to Discord and taking reports, 0 otherwise (starting, "
        "reconnecting, shutting down)."),
    "warden_shard_connected": (
        "gauge", ("shard",),
        "1 while this process's gateway connection for the shard is open, 0 otherwise; "
        "one series per shard the process runs."),
}


def record_one_of_each(metrics: WardenMetrics) -> None:
    metrics.reports.inc(reason="cheating", outcome="drafted")
    metrics.deliveries.inc(destination="bungie", outcome="sent")
    metrics.delivery_retries.inc(destination="sanctions")
    metrics.delivery_attempt_seconds.observe(0.2, destination="bungie")
    metrics.delivery_latency_seconds.observe(30, destination="bungie")
    metrics.api_errors.inc(destination="sanctions", code="http_503")
    metrics.link_rejections.inc(stage="callback", reason="state_invalid")
    metrics.backlog.set(4)
    metrics.last_success.set(1_700_000_000, destination="bungie")
    metrics.ready.set(1)
    metrics.shard_connected.set(1, shard="0")


def test_every_metric_keeps_its_name_type_labels_and_help() -> None:
    metrics = WardenMetrics()
    record_one_of_each(metrics)
    families = parse(metrics.render())
    assert set(families) == set(DECLARED)  # no extra series such as <name>_created
    for name, (kind, labels, help_text) in DECLARED.items():
        family = families[name]
        assert (family.type, family.help) == (kind, help_text), name
        assert family.samples, name
        for _, got, _ in family.samples:
            assert set(got) - {"le"} == set(labels), name
    assert content_type().startswith("text/plain; version=")


def test_recorded_values_are_read_back_by_a_strict_reader() -> None:
    metrics = WardenMetrics()
    metrics.reports.inc(reason="cheating", outcome="accepted")
    metrics.reports.inc(2, reason="cheating", outcome="accepted")
    metrics.api_errors.inc(destination="sanctions", code='we"ird\\code\nwith newline')
    for value in (0.05, 0.1, 0.5, 70.0):
        metrics.delivery_attempt_seconds.observe(value, destination="sanctions")
    metrics.last_success.set(1e9 + 0.25, destination="bungie")

    families = parse(metrics.render())

    assert families["warden_reports_total"].value(reason="cheating", outcome="accepted") == 3
    errors = families["warden_api_errors_total"]
    assert errors.value(destination="sanctions", code='we"ird\\code\nwith newline') == 1
    histogram = families["warden_delivery_attempt_seconds"]
    buckets = {labels["le"]: value for sample, labels, value in histogram.samples
               if sample.endswith("_bucket")}
    assert buckets[next(le for le in buckets if float(le) == 0.05)] == 1  # le is <=
    assert buckets[next(le for le in buckets if float(le) == 0.1)] == 2
    assert buckets[next(le for le in buckets if float(le) == 60)] == 3
    assert buckets["+Inf"] == 4
    assert histogram.value("warden_delivery_attempt_seconds_sum",
                           destination="sanctions") == pytest.approx(70.65)
    last = families["warden_delivery_last_success_timestamp_seconds"]
    assert last.value(destination="bungie") == 1e9 + 0.25


def test_nothing_recorded_yet_means_declared_without_samples() -> None:
    families = parse(WardenMetrics().render())
    for name in DECLARED:
        # Not even a 0 for the scrape-time gauges: unknown is not "no backlog".
        assert families[name].samples == [], name


def test_each_app_has_its_own_registry() -> None:
    # Tests build many apps in one process; the global registry would refuse the second
    # set of names, or mix their counts.
    first, second = WardenMetrics(), WardenMetrics()
    first.reports.inc(reason="cheating", outcome="drafted")
    second.reports.inc(reason="cheating", outcome="drafted")
    second.reports.inc(reason="cheating", outcome="drafted")
    value = parse(first.render())["warden_reports_total"].value(
        reason="cheating", outcome="drafted")
    assert value == 1
    assert parse(second.render())["warden_reports_total"].value(
        reason="cheating", outcome="drafted") == 2


def test_misuse_is_refused_at_once() -> None:
    metrics = WardenMetrics()
    with pytest.raises(ValueError):
        metrics.reports.inc(reason="cheating")  # a label missing
    with pytest.raises(ValueError):
        metrics.reports.inc()
    with pytest.raises(ValueError):
        metrics.reports.inc(-1, reason="cheating", outcome="drafted")
    with pytest.raises(ValueError, match="takes labels"):
        metrics.last_success.set(1, other="x")


def test_start_up_does_not_import_the_metrics_library() -> None:
    # Its imports cost start-up time (bench/RESULTS.md); the first record or scrape
    # loads it.
    code = (
        "import sys, bot.cli, bot.runtime, bot.web.ops\n"
        "from bot.metrics import WardenMetrics\n"
        "m = WardenMetrics()\n"
        "assert 'prometheus_client' not in sys.modules, 'imported at start-up'\n"
        "m.ready.set(1)\n"
        "assert 'prometheus_client' not in sys.modules, 'imported by a scrape-time gauge'\n"
        "m.reports.inc(reason='cheating', outcome='drafted')\n"
        "assert 'prometheus_client' in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_the_reader_in_these_tests_does_reject_broken_text() -> None:
    # The checks above are only worth something if the reader can say no.
    for broken in (
        "demo_total 1\n",  # no TYPE
        "# TYPE demo_total counter\ndemo_total{a=\"x\\t\"} 1\n",  # bad escape
        "# TYPE demo_total counter\ndemo_total 1\ndemo_total 2\n",  # duplicate series
        "# TYPE demo_total counter\ndemo_total one\n",  # not a number
        "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n",
        "# TYPE demo_total counter\ndemo_total 1",  # no final newline
        "# TYPE demo_total counter\ndemo_total 1\ndemo_created 1.7e9\n",  # undeclared
    ):
        with pytest.raises(FormatError):
            parse(broken)
