"""The headline line of `collectpulse run`: counters summed over labels, ratios of the sums."""

from __future__ import annotations

from collectpulse.localstack.headline import headline

METRICS = """\
# HELP collectpulse_events_received_total Records received.
# TYPE collectpulse_events_received_total counter
collectpulse_events_received_total{topic="delivery"} 30.0
collectpulse_events_received_total{topic="open"} 12.0
# HELP collectpulse_messages_sent_total Sent.
# TYPE collectpulse_messages_sent_total counter
collectpulse_messages_sent_total{campaign="a",tenant="x"} 15.0
collectpulse_messages_sent_total{campaign="b",tenant="x"} 5.0
# HELP collectpulse_messages_delivered_total Delivered.
# TYPE collectpulse_messages_delivered_total counter
collectpulse_messages_delivered_total{campaign="a",tenant="x"} 12.0
collectpulse_messages_delivered_total{campaign="b",tenant="x"} 4.0
# HELP collectpulse_messages_opened_total Opened.
# TYPE collectpulse_messages_opened_total counter
collectpulse_messages_opened_total{campaign="a",tenant="x"} 4.0
# HELP collectpulse_messages_paid_total Paid.
# TYPE collectpulse_messages_paid_total counter
collectpulse_messages_paid_total{campaign="a",tenant="x"} 2.0
# HELP collectpulse_collected_amount_minor_total Collected.
# TYPE collectpulse_collected_amount_minor_total counter
collectpulse_collected_amount_minor_total{agent="",currency="EUR",tenant="x"} 1000.0
collectpulse_collected_amount_minor_total{agent="a1",currency="EUR",tenant="y"} 2.5e+03
collectpulse_collected_amount_minor_total{agent="",currency="GBP",tenant="x"} 700.0
# HELP collectpulse_delivery_ratio Not summed: a ratio.
# TYPE collectpulse_delivery_ratio gauge
collectpulse_delivery_ratio{campaign="a",window="1h"} 0.8
"""


def test_counters_are_summed_over_every_label_set() -> None:
    h = headline(METRICS)
    assert (h.received, h.sent, h.delivered, h.opened, h.paid) == (42, 20, 16, 4, 2)
    assert h.collected_minor == {"EUR": 3500, "GBP": 700}


def test_the_line_shows_ratios_of_the_sums_and_money_per_currency() -> None:
    assert headline(METRICS).line() == (
        "events received: 42 | sent 20, delivered 80.0%, opened 25.0%, paid 2, "
        "collected (minor units) EUR 3500, GBP 700"
    )


def test_before_anything_is_counted_ratios_are_absent_not_zero() -> None:
    assert headline("").line() == (
        "events received: 0 | sent 0, delivered n/a, opened n/a, paid 0, "
        "collected (minor units) none yet"
    )
