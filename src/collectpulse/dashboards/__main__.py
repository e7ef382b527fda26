"""``python -m collectpulse.dashboards [--check]``: write or check the JSON and the panel list."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from collectpulse.dashboards.docs import DOC_PATH, DocError, with_panels
from collectpulse.dashboards.render import DASHBOARDS_DIR, stale, write


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m collectpulse.dashboards",
        description="Generate the Grafana dashboards (and their panel list) from the KPI "
        "definitions. Run from the repository root.",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DASHBOARDS_DIR,
        help=f"directory of the dashboard JSON files (default: {DASHBOARDS_DIR})",
    )
    parser.add_argument(
        "--docs",
        type=Path,
        default=DOC_PATH,
        help=f"document whose panel list to rewrite (default: {DOC_PATH}); '-' for none",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 when a file differs from what the generator makes",
    )
    args = parser.parse_args(argv)
    docs: Path | None = None if str(args.docs) == "-" else args.docs
    try:
        return _check(args.out, docs) if args.check else _write(args.out, docs)
    except (OSError, DocError) as exc:
        print(f"collectpulse.dashboards: {exc}", file=sys.stderr)
        return 2


def _check(out: Path, docs: Path | None) -> int:
    differing = [out / name for name in stale(out)]
    if docs is not None:
        text = docs.read_text(encoding="utf-8")
        if with_panels(text) != text:
            differing.append(docs)
    for path in differing:
        print(f"stale: {path}", file=sys.stderr)
    if differing:
        print("regenerate with: python -m collectpulse.dashboards", file=sys.stderr)
    return 1 if differing else 0


def _write(out: Path, docs: Path | None) -> int:
    for path in write(out):
        print(f"wrote {path}")
    if docs is not None:
        text = docs.read_text(encoding="utf-8")
        docs.write_text(with_panels(text), encoding="utf-8")
        print(f"wrote the panel list of {docs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
