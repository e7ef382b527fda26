"""The machine-readable record of a bench/peers.py run.

Writes docs/bench/latest.json, appends it as one line to docs/bench/history.jsonl,
draws docs/bench/rates.png from the whole history and rewrites the history table
between the markers in docs/BENCHMARKS.md, so the figures, the plot and the table
always come from the same file.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REFERENCES = (
    "bare_aiokafka",
    "bare_quix",
    "quix_same_job",
    "kafka_streams_same_job",
    "stock_faust",
)
NONE = "\N{EN DASH}"  # an empty table cell
TABLE_START = "<!-- bench-history:start (bench/peers_record.py writes this table) -->"
TABLE_END = "<!-- bench-history:end -->"


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 2) if values else None


def _commit(root: Path) -> str:
    def git(*argv: str) -> str:
        return subprocess.run(["git", *argv], cwd=root, capture_output=True, text=True).stdout

    sha = git("rev-parse", "--short=12", "HEAD").strip()
    dirty = bool(git("status", "--porcelain", "--untracked-files=no").strip())
    return f"{sha}-dirty" if dirty else sha


def build(
    root: Path,
    *,
    args: argparse.Namespace,
    medians: dict[str, float],
    out: Any,
    scrape: tuple[float, float] | None,
    load: tuple[float, float, float],
    expected: dict[int, dict[str, int]],
) -> dict[str, Any]:
    small = [f for n, fs in out.figures.items() if n == 200_000 for f in fs]
    main = out.figures.get(args.events, [])
    rate_200k = medians.get("collectpulse" if args.events == 200_000 else "collectpulse_200000")
    ours = medians.get("collectpulse")
    references = {name: _round(medians.get(name)) for name in REFERENCES}
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": _commit(root),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "events": args.events,
        "slow_events": args.slow_events,
        "rounds": args.rounds,
        "load_average_at_start": [round(x, 2) for x in load],
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "load_average_at_case_starts": out.loads,
        "collectpulse_events_per_s": _round(ours),
        "collectpulse_events_per_s_200k": _round(rate_200k),
        "references": references,
        # collectpulse / the reference, each against collectpulse on as many events
        "ratios": {
            k: round(medians[_ours(out, k, args.events)] / v, 3)
            if v and medians.get(_ours(out, k, args.events))
            else None
            for k, v in references.items()
        },
        "runs": {k: [round(r) for r in v] for k, v in out.rates.items()},
        "ratios_per_round": [
            {
                k: round(r[_ours(out, k, args.events)] / v, 3)
                for k, v in r.items()
                if not k.startswith("collectpulse") and r.get(_ours(out, k, args.events))
            }
            for r in out.per_round
        ],
        "events_per_case": out.events,
        "cpu_us_per_event": {k: _median(v) for k, v in out.cpu_us.items()},
        "worker_cpu_us_per_event": _median([f.worker_cpu_us_per_event for f in main]),
        "worker_peak_rss_mb": _median([f.worker_peak_rss_mb for f in small]),
        "worker_peak_rss_mb_at_events": _median([f.worker_peak_rss_mb for f in main]),
        "redis_bytes_per_message": _median([f.redis_bytes_per_message for f in small]),
        "scrape_p50_ms_1000_combos": scrape[0] if scrape else None,
        "scrape_p99_ms_1000_combos": scrape[1] if scrape else None,
        "expected_totals": {str(n): e for n, e in expected.items()},
        "failures": out.failures,
    }


def _ours(out: Any, case: str, main_events: int) -> str:
    events = out.events.get(case, main_events)
    return "collectpulse" if events == main_events else f"collectpulse_{events}"


def _round(value: float | None) -> float | None:
    return round(value) if value else None


def write_record(root: Path, **kw: Any) -> None:
    record = build(root, **kw)
    docs = root / "docs" / "bench"
    docs.mkdir(parents=True, exist_ok=True)
    (docs / "latest.json").write_text(json.dumps(record, indent=2) + "\n")
    with (docs / "history.jsonl").open("a") as history:
        history.write(json.dumps(record) + "\n")
    render(root)
    print(f"wrote {docs / 'latest.json'}, appended to history.jsonl, drew rates.png")


def render(root: Path) -> None:
    """The plot and the BENCHMARKS.md table, from the whole history."""
    docs = root / "docs" / "bench"
    history = [json.loads(line) for line in (docs / "history.jsonl").read_text().splitlines()]
    plot(history, docs / "rates.png")
    page = root / "docs" / "BENCHMARKS.md"
    text = page.read_text()
    if TABLE_START in text and TABLE_END in text:
        head, rest = text.split(TABLE_START, 1)
        tail = rest.split(TABLE_END, 1)[1]
        page.write_text(f"{head}{TABLE_START}\n{table(history)}\n{TABLE_END}{tail}")


def _load(record: dict[str, Any]) -> str:
    """The 1-minute load average over the run's cases (lowest-highest), else at its start."""
    loads = record.get("load_average_at_case_starts") or record["load_average_at_start"][:1]
    return f"{min(loads):.1f}-{max(loads):.1f}" if len(loads) > 1 else f"{loads[0]:.1f}"


def table(history: list[dict[str, Any]]) -> str:
    def n(value: float | None) -> str:
        return f"{value:,.0f}" if value else NONE

    head = (
        "| date (UTC) | commit | events | load | collectpulse | 200k | bare aiokafka | bare Quix "
        "| Kafka Streams same job | Quix same job | stock Faust | worker µs/ev | RSS MB "
        "| Redis B/msg | scrape p50/p99 ms |\n" + "|---" * 15 + "|"
    )
    rows = []
    for r in history:
        refs = r["references"]
        scrape = r.get("scrape_p50_ms_1000_combos"), r.get("scrape_p99_ms_1000_combos")
        rows.append(
            f"| {r['date'][:16].replace('T', ' ')} | `{r['commit']}` | {r['events']:,} "
            f"| {_load(r)} | **{n(r['collectpulse_events_per_s'])}** "
            f"| {n(r['collectpulse_events_per_s_200k'])} | {n(refs['bare_aiokafka'])} "
            f"| {n(refs['bare_quix'])} | {n(refs['kafka_streams_same_job'])} "
            f"| {n(refs['quix_same_job'])} | {n(refs['stock_faust'])} "
            f"| {r['worker_cpu_us_per_event'] or NONE} | {n(r['worker_peak_rss_mb'])} "
            f"| {n(r['redis_bytes_per_message'])} "
            f"| {n(scrape[0])} / {n(scrape[1])} |"
        )
    return "\n".join([head, *rows])


def plot(history: list[dict[str, Any]], path: Path) -> None:
    """Rates per run (log scale), one x position per run; hollow markers: quick (200k) runs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = {"collectpulse (end to end)": [r["collectpulse_events_per_s"] for r in history]}
    series["collectpulse at 200k"] = [r["collectpulse_events_per_s_200k"] for r in history]
    for name in REFERENCES:
        series[name.replace("_", " ")] = [r["references"].get(name) for r in history]
    quick = [r["events"] < 1_000_000 for r in history]
    fig, ax = plt.subplots(figsize=(9, 4.8))
    for label, values in series.items():
        points = [(i, v) for i, v in enumerate(values) if v]
        if not points:
            continue
        xs, ys = zip(*points, strict=True)
        ours = label.startswith("collectpulse")
        (line,) = ax.plot(xs, ys, linestyle="--" if "200k" in label else "-",
                          linewidth=2.5 if ours else 1.2, label=label)  # fmt: skip
        for x, y in points:
            face = "none" if quick[x] else line.get_color()
            ax.plot([x], [y], marker="o", color=line.get_color(), markerfacecolor=face)
    ax.set_xticks(range(len(history)))
    ax.set_xticklabels(
        [f"{r['date'][5:16].replace('T', ' ')}\n{r['commit'][:7]}" for r in history], fontsize=7
    )
    ax.set_xlim(-0.5, max(len(history) - 0.5, 1.5))
    ax.set_yscale("log")
    ax.set_ylabel("events/s (log)")
    ax.set_title("make bench: rates per run, same broker and run (hollow: 200k quick run)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
