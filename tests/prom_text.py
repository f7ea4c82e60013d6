"""A strict reader of the Prometheus text exposition format 0.0.4, for tests.

Written from the format's specification (not from ``bot.metrics``): it rejects what a
Prometheus server would reject (bad names, bad escapes, samples before their TYPE, a
TYPE given twice, duplicate series) and checks histogram invariants (cumulative
buckets ending in ``+Inf`` equal to ``_count``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


class FormatError(AssertionError):
    pass


@dataclass
class Family:
    name: str
    type: str = "untyped"
    help: str | None = None
    samples: list[tuple[str, dict[str, str], float]] = field(default_factory=list)

    def value(self, sample: str | None = None, **labels: str) -> float | None:
        wanted = sample or self.name
        for name, got, value in self.samples:
            if name == wanted and got == labels:
                return value
        return None


def _value(text: str) -> float:
    if text in ("+Inf", "Inf"):
        return math.inf
    if text == "-Inf":
        return -math.inf
    if text == "NaN":
        return math.nan
    try:
        return float(text)
    except ValueError:
        raise FormatError(f"bad value {text!r}") from None


def _labels(text: str, line: str) -> tuple[dict[str, str], str]:
    """Parse ``{a="x",b="y"}`` at the start of ``text``; returns labels and the rest."""
    labels: dict[str, str] = {}
    i = 1
    while True:
        if text[i] == "}":
            return labels, text[i + 1:]
        m = LABEL_NAME.match(text, i)
        if m is None:
            raise FormatError(f"bad label name in {line!r}")
        name = m.group(0)
        i = m.end()
        if text[i:i + 2] != '="':
            raise FormatError(f"expected =\" after {name} in {line!r}")
        i += 2
        value = []
        while True:
            ch = text[i]
            if ch == "\\":
                nxt = text[i + 1]
                if nxt not in ('\\', '"', "n"):
                    raise FormatError(f"bad escape \\{nxt} in {line!r}")
                value.append("\n" if nxt == "n" else nxt)
                i += 2
            elif ch == '"':
                i += 1
                break
            elif ch == "\n":
                raise FormatError(f"raw newline in a label value: {line!r}")
            else:
                value.append(ch)
                i += 1
        if name in labels:
            raise FormatError(f"label {name} twice in {line!r}")
        labels[name] = "".join(value)
        if text[i] == ",":
            i += 1
        elif text[i] != "}":
            raise FormatError(f"expected , or }} in {line!r}")


def _family_of(sample: str, families: dict[str, Family]) -> Family:
    if sample in families:
        return families[sample]
    for suffix in ("_bucket", "_sum", "_count"):
        base = sample.removesuffix(suffix)
        if base != sample and base in families and families[base].type in (
            "histogram", "summary"
        ):
            return families[base]
    raise FormatError(f"sample {sample} has no preceding TYPE")


def parse(text: str) -> dict[str, Family]:
    if not text.endswith("\n"):
        raise FormatError("the exposition must end with a newline")
    families: dict[str, Family] = {}
    seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
    for line in text.split("\n")[:-1]:
        if not line.strip():
            continue
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                name = parts[2]
                if not NAME.fullmatch(name):
                    raise FormatError(f"bad metric name {name!r}")
                family = families.setdefault(name, Family(name))
                rest = parts[3] if len(parts) > 3 else ""
                if parts[1] == "TYPE":
                    if rest not in TYPES:
                        raise FormatError(f"unknown type {rest!r}")
                    if family.samples or getattr(family, "_typed", False):
                        raise FormatError(f"TYPE for {name} repeated or after its samples")
                    family.type = rest
                    family._typed = True  # type: ignore[attr-defined]
                else:
                    if "\\" in rest.replace("\\\\", "").replace("\\n", ""):
                        raise FormatError(f"bad escape in HELP {line!r}")
                    family.help = rest.replace("\\n", "\n").replace("\\\\", "\\")
            continue
        m = NAME.match(line)
        if m is None:
            raise FormatError(f"bad sample line {line!r}")
        sample, rest = m.group(0), line[m.end():]
        labels: dict[str, str] = {}
        if rest.startswith("{"):
            labels, rest = _labels(rest, line)
        fields = rest.split()
        if not rest.startswith(" ") or len(fields) not in (1, 2):
            raise FormatError(f"bad sample line {line!r}")
        family = _family_of(sample, families)
        key = (sample, tuple(sorted(labels.items())))
        if key in seen:
            raise FormatError(f"duplicate series {line!r}")
        seen.add(key)
        family.samples.append((sample, labels, _value(fields[0])))
    for family in families.values():
        if family.type == "histogram":
            _check_histogram(family)
    return families


def _check_histogram(family: Family) -> None:
    series: dict[tuple[tuple[str, str], ...], list[tuple[float, float]]] = {}
    counts: dict[tuple[tuple[str, str], ...], float] = {}
    for sample, labels, value in family.samples:
        if sample == f"{family.name}_bucket":
            if "le" not in labels:
                raise FormatError(f"{family.name} bucket without le")
            rest = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
            series.setdefault(rest, []).append((_value(labels["le"]), value))
        elif sample == f"{family.name}_count":
            counts[tuple(sorted(labels.items()))] = value
        elif sample != f"{family.name}_sum":
            raise FormatError(f"unexpected sample {sample} in histogram {family.name}")
    for key, buckets in series.items():
        bounds = [b for b, _ in buckets]
        if bounds != sorted(bounds) or bounds[-1] != math.inf:
            raise FormatError(f"{family.name}{dict(key)}: buckets not ascending to +Inf")
        values = [v for _, v in buckets]
        if values != sorted(values):
            raise FormatError(f"{family.name}{dict(key)}: buckets not cumulative")
        if counts.get(key) != values[-1]:
            raise FormatError(f"{family.name}{dict(key)}: +Inf bucket != _count")


def link_rejections(metrics: Any, stage: str, reason: str) -> int:
    """``warden_link_rejections_total`` for one stage and reason, read from ``/metrics``'s
    text as a scraper would (0 when nothing was counted)."""
    family = parse(metrics.render()).get("warden_link_rejections_total")
    found = None if family is None else family.value(stage=stage, reason=reason)
    return int(found or 0)
