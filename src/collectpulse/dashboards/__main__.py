"""``python -m collectpulse.dashboards [--out DIR] [--check]``: write or check the JSON files."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from collectpulse.dashboards.render import DASHBOARDS_DIR, stale, write


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m collectpulse.dashboards",
        description="Generate the Grafana dashboards from the KPI definitions.",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DASHBOARDS_DIR,
        help=f"directory of the dashboard JSON files (default: {DASHBOARDS_DIR})",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 when a file differs from what the generator makes",
    )
    args = parser.parse_args(argv)
    if args.check:
        differing = stale(args.out)
        for name in differing:
            print(f"stale: {args.out / name}", file=sys.stderr)
        if differing:
            print("regenerate with: python -m collectpulse.dashboards", file=sys.stderr)
        return 1 if differing else 0
    for path in write(args.out):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
