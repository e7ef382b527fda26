"""The frame of ``collectpulse top``, rendered to a recording console and read as text."""

from __future__ import annotations

from rich.console import Console

from collectpulse.ui.headline import Headline, Pipeline, TopicHealth
from collectpulse.ui.screen import frame

NOW_S = 1_700_000_000  # 22:13:20 UTC


def _text(headline: Headline | None, **kwargs: object) -> str:
    console = Console(record=True, width=120, color_system=None)
    options = {"window": "1h", "tenant": None, **kwargs}
    console.print(frame(headline, **options))  # type: ignore[arg-type]
    return console.export_text()


def _headline(**changes: object) -> Headline:
    ratios: dict[str, float | None] = {
        "delivery": 0.8,
        "open": 0.35,
        "click_through": 0.125,
        "message_payment": 0.1125,
        "bounce": 0.1,
        "hard_bounce": 0.06,
        "soft_bounce": None,
        "payment_success": 0.375,
        "promise_kept": 2 / 3,
        "landing_conversion": None,
    }
    pipeline = Pipeline(
        live_workers=2,
        dead_lettered=3,
        consumer_lag_records=1234,
        dependencies={"redis": True, "kafka": False},
        topics=(
            TopicHealth("delivery", 30.4, 1.25, 3),
            TopicHealth("customer-touch", None, None, 0),
        ),
    )
    values: dict[str, object] = {
        "as_of_s": NOW_S,
        "window": "1h",
        "tenant": None,
        "funnel": {"sent": 5000, "delivered": 4000, "opened": 1400, "clicked": 500, "paid": 450},
        "ratios": ratios,
        "collected_minor": {"EUR": 1_234_567},
        "struggling_customers": 7,
        "pipeline": pipeline,
        **changes,
    }
    return Headline(**values)  # type: ignore[arg-type]


def _row(text: str, first: str) -> list[str]:
    for line in text.splitlines():
        cells = [c.strip() for c in line.split("│")]
        if len(cells) > 2 and cells[1] == first:
            return [c for c in cells[2:] if c]
    raise AssertionError(f"no row {first!r} in\n{text}")


def test_the_funnel_shows_counts_and_ratios_as_percentages() -> None:
    text = _text(_headline())
    assert _row(text, "sent") == ["5,000"]
    assert _row(text, "delivered") == ["4,000", "80.0%", "sent"]
    assert _row(text, "opened") == ["1,400", "35.0%", "delivered"]
    assert _row(text, "clicked") == ["500", "12.5%", "delivered"]
    assert _row(text, "paid") == ["450", "11.2%", "delivered"]
    assert _row(text, "bounced") == ["10.0%", "sent (hard 6.0% · soft -)"]


def test_money_promises_and_landing_show_with_no_data_as_a_dash() -> None:
    text = _text(_headline())
    assert _row(text, "collected EUR (minor units)") == ["1,234,567"]
    assert _row(text, "payment success ratio") == ["37.5%"]
    assert _row(text, "promise kept ratio") == ["66.7%"]
    assert _row(text, "landing conversion (all sources)") == ["-"]
    assert _row(text, "struggling customers (all tenants)") == ["7"]


def test_pipeline_health_names_a_dependency_that_is_down() -> None:
    text = _text(_headline())
    assert (
        "live workers 2 · consumer lag 1,234 records · dead-lettered 3 · redis up · kafka DOWN"
        in text
    )
    assert _row(text, "delivery") == ["30 s ago", "1.250 s", "3"]
    assert _row(text, "customer-touch") == ["-", "-", "0"]


def test_the_title_names_the_window_the_tenant_the_time_and_the_keys() -> None:
    first = _text(_headline(), window="24h", tenant="acme").splitlines()[0]
    assert first == (
        "collectpulse top · window 24h · tenant acme · as of 22:13:20 UTC · "
        "q quit · w window · t tenant"
    )
    assert "tenant all" in _text(_headline()).splitlines()[0]


def test_before_the_first_read_it_says_so_and_shows_the_problem() -> None:
    text = _text(None, problem="store (Redis): ConnectionError")
    lines = text.splitlines()
    assert lines[0] == "collectpulse top · window 1h · tenant all · q quit · w window · t tenant"
    assert lines[1] == "! store (Redis): ConnectionError"
    assert lines[2] == "waiting for the first read of the store..."
    assert "Funnel" not in text


def test_no_payment_in_the_window_shows_zero_collected() -> None:
    assert _row(_text(_headline(collected_minor={})), "collected (minor units)") == ["0"]
