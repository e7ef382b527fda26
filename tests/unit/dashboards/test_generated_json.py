"""The checked-in dashboard JSON is exactly what the generator makes, and the command says so."""

from __future__ import annotations

from pathlib import Path

import pytest

from collectpulse.dashboards.__main__ import main
from collectpulse.dashboards.boards import BOARDS
from collectpulse.dashboards.docs import DOC_PATH, END, START, render_panels, with_panels
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
    doc = tmp_path / "doc.md"
    doc.write_text(f"# Dashboards\n\n{START}\n{END}\nafter\n")
    out = ["--out", str(tmp_path), "--docs", str(doc)]
    assert main(["--check", *out]) == 1
    assert main(out) == 0
    assert main(["--check", *out]) == 0
    assert doc.read_text().startswith("# Dashboards") and doc.read_text().endswith("after\n")
    edited = tmp_path / f"{BOARDS[0].uid}.json"
    edited.write_text(edited.read_text().replace("Funnel", "Funel"))
    (tmp_path / "hand-made.json").write_text("{}")
    capsys.readouterr()
    doc.write_text(doc.read_text().replace("Funnel stages", "Funnel stage"))
    assert main(["--check", *out]) == 1
    err = capsys.readouterr().err
    assert edited.name in err and "hand-made.json" in err and "doc.md" in err
    main(out)
    assert not (tmp_path / "hand-made.json").exists()
    doc.write_text("no markers")
    assert main(out) == 2


def test_the_panel_list_in_docs_is_up_to_date() -> None:
    text = (ROOT / DOC_PATH).read_text(encoding="utf-8")
    assert with_panels(text) == text, f"the panel list is stale; regenerate: {REGENERATE}"


def test_the_panel_list_names_every_panel_and_query() -> None:
    rendered = render_panels()
    for board in BOARDS:
        assert f"(`{board.uid}`)" in rendered
        for panel in board.panels():
            assert f"**{panel.title}**" in rendered
            assert all(query.expr in rendered for query in panel.queries)
