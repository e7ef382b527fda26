"""The Prometheus text format (0.0.4) of collectpulse's families, byte-identical to
``prometheus_client.generate_latest`` and several times faster.

A scrape of a large store is ~100k samples. ``generate_latest`` validates and escapes
every label name of every sample; here the store's families come as plain rows
(``exporter.families``), each label set is rendered once per scrape (the funnel's label
sets are shared by its counters, windowed gauges and ratios), a histogram's label set
once for all its buckets, and each distinct value is formatted once. prometheus_client
families (the computed gauges, health) take the same path when they are plain counters,
gauges or histograms with no timestamps; anything else is handed to ``generate_latest``
unchanged. Unit tests hold the outputs byte-identical and parse them back.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Iterator
from typing import cast

from prometheus_client import generate_latest
from prometheus_client.core import Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from collectpulse.exporter.families import AnyFamily, Family, HistogramFamily, LabelValues

_FAST_TYPES = frozenset({"counter", "gauge", "histogram"})
_go_float = cast(Callable[[float], str], floatToGoString)
"""Values as Go formats them (``+Inf``, ``1.5e+09``), exactly as generate_latest does."""

LabelCache = dict[tuple[str, ...], dict[LabelValues, str]]
"""Label names -> label values -> the rendered ``{a="x",b="y"}``, for one render."""


def render(families: Iterable[AnyFamily | Metric]) -> bytes:
    """Render ``families`` in the text format, as ``generate_latest`` would."""
    out: list[str] = []
    labels: LabelCache = {}
    value = _ValueText()
    for family in families:
        if isinstance(family, Family):
            _render_rows(family, out, labels, value)
        elif isinstance(family, HistogramFamily):
            _render_histogram(family, out, value)
        elif family.type in _FAST_TYPES and _plain(family):
            _render_metric(family, out)
        else:
            out.append(generate_latest(_Single(family)).decode())
    return "".join(out).encode()


class _ValueText:
    """``floatToGoString`` once per distinct value of a render (counts repeat a lot)."""

    def __init__(self) -> None:
        # 0.0 and -0.0 are one key but two texts: -0.0 is never cached (see ``new``), so
        # a hit on 0 is checked for its sign; NaN is never found again, so never cached
        self.seen: dict[float, str] = {0.0: _ZERO}

    def __call__(self, value: float) -> str:
        text = self.seen.get(value)
        return self.new(value) if text is None or text is _ZERO else text

    def new(self, value: float) -> str:
        if value == 0:
            return _ZERO if math.copysign(1.0, value) > 0 else "-0.0"
        text = _go_float(value)
        if not math.isnan(value):
            self.seen[value] = text
        return text


_ZERO = "0.0"


def _header(name: str, kind: str, help_text: str) -> str:
    escaped = help_text.replace("\\", r"\\").replace("\n", r"\n")
    return f"# HELP {name} {escaped}\n# TYPE {name} {kind}\n"


def _render_rows(family: Family, out: list[str], cache: LabelCache, value: _ValueText) -> None:
    name = family.name + "_total" if family.kind == "counter" else family.name
    out.append(_header(name, family.kind, family.help))
    names = family.labels
    if not names:
        out.extend(f"{name} {value(v)}\n" for _, v in family.rows)
        return
    texts = cache.setdefault(names, {})
    # the series' labels but the last, rendered once for all its values of the last (a
    # window): the last label must sort last for its pair to be appended
    head_names = names[:-1]
    last = names[-1]
    heads = cache.setdefault(head_names, {}) if all(n < last for n in head_names) else None
    seen, new_value = value.seen, value.new
    append = out.append
    for values, v in family.rows:
        text = texts.get(values)
        if text is None:
            text = texts[values] = _label_text(names, values, heads)
        number = seen.get(v)
        if number is None or number is _ZERO:
            number = new_value(v)
        append(f"{name}{text} {number}\n")


def _label_text(
    names: tuple[str, ...], values: LabelValues, heads: dict[LabelValues, str] | None
) -> str:
    if heads is None:
        pairs = ",".join(f'{n}="{_escape(values[i])}"' for i, n in _sorted_names(names))
        return f"{{{pairs}}}"
    head_values = values[:-1]
    head = heads.get(head_values)
    if head is None:
        head = heads[head_values] = _label_text(names[:-1], head_values, None)
    last = f'{names[-1]}="{_escape(values[-1])}"}}'
    return f"{head[:-1]},{last}" if len(head) > 2 else f"{{{last}"


@functools.cache
def _sorted_names(names: tuple[str, ...]) -> tuple[tuple[int, str], ...]:
    """(position, name) of label names in the order the text format writes them."""
    return tuple(sorted(enumerate(names), key=lambda pair: pair[1]))


def _render_histogram(family: HistogramFamily, out: list[str], value: _ValueText) -> None:
    name = family.name
    out.append(_header(name, "histogram", family.help))
    names = family.labels
    order = sorted(range(len(names)), key=names.__getitem__)
    le_at = sum(1 for n in names if n < "le")  # where ``le`` sorts among the label names
    bucket, count, total = f"{name}_bucket{{", f"{name}_count", f"{name}_sum"
    append = out.append
    for values, buckets, sum_value in family.rows:
        pairs = [f'{names[i]}="{_escape(values[i])}"' for i in order]
        head = "".join(f"{p}," for p in pairs[:le_at])
        tail = "".join(f",{p}" for p in pairs[le_at:])
        for le, cumulative in buckets:
            append(f'{bucket}{head}le="{le}"{tail}}} {value(cumulative)}\n')
        labels = f"{{{','.join(pairs)}}}" if pairs else ""
        append(f"{count}{labels} {value(buckets[-1][1])}\n{total}{labels} {value(sum_value)}\n")


def _plain(family: Metric) -> bool:
    created = family.name + "_created"
    return all(s.timestamp is None and s.name != created for s in family.samples)


def _render_metric(family: Metric, out: list[str]) -> None:
    name = family.name + "_total" if family.type == "counter" else family.name
    out.append(_header(name, family.type, family.documentation))
    append = out.append
    for sample in family.samples:
        if sample.labels:
            pairs = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(sample.labels.items()))
            append(f"{sample.name}{{{pairs}}} {_go_float(sample.value)}\n")
        else:
            append(f"{sample.name} {_go_float(sample.value)}\n")


def _escape(value: str) -> str:
    if "\\" in value or "\n" in value or '"' in value:
        return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")
    return value


class _Single(Collector):
    def __init__(self, family: Metric) -> None:
        self._family = family

    def collect(self) -> Iterator[Metric]:
        yield self._family
