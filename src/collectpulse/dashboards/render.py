"""Write the dashboards as JSON files for Grafana's file provisioning, or check them for drift."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from collectpulse.dashboards.boards import BOARDS
from collectpulse.dashboards.grafana import to_json
from collectpulse.dashboards.model import Board

DASHBOARDS_DIR = Path("deploy/grafana/dashboards")
"""Where the checked-in JSON lives, relative to the repository root."""


def render(board: Board) -> str:
    """The board's JSON file content: stable key order, two-space indent, final newline."""
    return json.dumps(to_json(board), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def rendered(boards: Iterable[Board] = BOARDS) -> dict[str, str]:
    """File name -> content for every board (``<uid>.json``)."""
    return {f"{board.uid}.json": render(board) for board in boards}


def stale(directory: Path, boards: Iterable[Board] = BOARDS) -> list[str]:
    """File names in ``directory`` that differ from the generator, are missing or are extra."""
    wanted = rendered(boards)
    present = {path.name for path in directory.glob("*.json")}
    differing = [
        name
        for name, text in wanted.items()
        if name not in present or (directory / name).read_text(encoding="utf-8") != text
    ]
    return sorted({*differing, *(present - wanted.keys())})


def write(directory: Path, boards: Iterable[Board] = BOARDS) -> list[Path]:
    """Write every board into ``directory`` and delete JSON files no board produces."""
    directory.mkdir(parents=True, exist_ok=True)
    wanted = rendered(boards)
    for path in directory.glob("*.json"):
        if path.name not in wanted:
            path.unlink()
    written = []
    for name, text in wanted.items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
