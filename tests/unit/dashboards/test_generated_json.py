"""The checked-in dashboard JSON is exactly what the generator makes, and the command says so."""

from __future__ import annotations

from pathlib import Path

import pytest

from collectpulse.dashboards.__main__ import main
from collectpulse.dashboards.boards import BOARDS
from collectpulse.dashboards.render import DASHBOARDS_DIR, render, stale

ROOT = Path(__file__).resolve().parents[3]
REGENERATE = ".venv/bin/python -m collectpulse.dashboards"


def test_checked_in_dashboards_match_the_generator() -> None:
    assert stale(ROOT / DASHBOARDS_DIR) == [], f"the JSON drifted; regenerate: {REGENERATE}"


def test_one_file_per_board_named_by_uid() -> None:
    names = sorted(path.name for path in (ROOT / DASHBOARDS_DIR).glob("*.json"))
    assert names == sorted(f"{board.uid}.json" for board in BOARDS)


def test_rendering_is_deterministic() -> None:
    assert [render(board) for board in BOARDS] == [render(board) for board in BOARDS]


def test_command_writes_the_files_and_check_mode_reports_drift(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--check", "--out", str(tmp_path)]) == 1
    assert main(["--out", str(tmp_path)]) == 0
    assert main(["--check", "--out", str(tmp_path)]) == 0
    edited = tmp_path / f"{BOARDS[0].uid}.json"
    edited.write_text(edited.read_text().replace("Funnel", "Funel"))
    (tmp_path / "hand-made.json").write_text("{}")
    capsys.readouterr()
    assert main(["--check", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert edited.name in err and "hand-made.json" in err
    main(["--out", str(tmp_path)])
    assert not (tmp_path / "hand-made.json").exists()
