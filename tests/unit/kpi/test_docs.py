"""docs/KPIS.md is the rendered definitions table and must not drift from it."""

from __future__ import annotations

from pathlib import Path

from collectpulse.kpi.definitions import ALL_KPIS, metric_names
from collectpulse.kpi.docs import render_markdown

KPIS_MD = Path(__file__).resolve().parents[3] / "docs" / "KPIS.md"
REGENERATE = (
    '.venv/bin/python -c "from collectpulse.kpi.docs import render_markdown; '
    "print(render_markdown(), end='')\" > docs/KPIS.md"
)


def test_kpis_doc_is_up_to_date() -> None:
    assert KPIS_MD.read_text(encoding="utf-8") == render_markdown(), f"regenerate: {REGENERATE}"


def test_kpis_doc_names_every_metric_and_its_definition() -> None:
    rendered = render_markdown()
    for kpi in ALL_KPIS:
        for name in metric_names(kpi):
            assert f"`{name}`" in rendered
        assert kpi.help in rendered


def test_kpis_doc_marks_optional_labels_and_closed_value_sets() -> None:
    rendered = render_markdown()
    assert "`tenant?`" in rendered
    assert "`bounce_type` (hard/soft)" in rendered
