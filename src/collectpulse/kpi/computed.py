"""The KPIs that are not bucket counters: exporter-computed gauges and response-time histograms.

Part of the one definitions table; `kpi.definitions` gathers them with the
counters and ratios into ``ALL_KPIS``.
"""

from __future__ import annotations

from collectpulse.kpi.allocation_gauges import ALLOCATION_GAUGES
from collectpulse.kpi.collectors import COLLECTOR_GAUGES
from collectpulse.kpi.cost_gauges import COST_GAUGES
from collectpulse.kpi.experiment_gauges import EXPERIMENT_GAUGES
from collectpulse.kpi.histograms import RESPONSE_TIME_BUCKETS_S
from collectpulse.kpi.model import Gauge, Histogram
from collectpulse.kpi.portfolio_gauges import PORTFOLIO_GAUGES
from collectpulse.kpi.send_time import SEND_TIME_GAUGES
from collectpulse.kpi.targets import TARGET_GAUGES
from collectpulse.kpi.team_promises import TEAM_PROMISE_GAUGES

_EXPERIMENT = ("campaign", "variant", "control", "tenant")
_BELOW_MINIMUM = "absent while either arm has fewer delivered messages than the minimum sample"
_FIXED_HORIZON = "Fixed-horizon, not for decisions (messages as units, a rolling window): "

GAUGES: tuple[Gauge, ...] = (
    Gauge(
        "landing_silence_seconds",
        "Seconds since the campaign's last landing-page view, or since its first delivery "
        "when it has had none: the broken-link signal.",
        "landing",
        ("campaign", "tenant"),
    ),
    Gauge(
        "landing_silence_delivered_messages",
        "Messages of the campaign delivered since its last landing-page view.",
        "landing",
        ("campaign", "tenant"),
    ),
    Gauge(
        "struggling_customers",
        "Customers with at least N (default 3) failed or aborted payment attempts in the "
        "last 24h and no successful one.",
        "payments",
        ("tenant",),
    ),
    Gauge(
        "experiment_lift_ratio",
        f"{_FIXED_HORIZON}relative lift of the variant's message payment ratio over control's: "
        f"(variant - control) / control; {_BELOW_MINIMUM} or when control's ratio is 0.",
        "experiment",
        _EXPERIMENT,
        windowed=True,
    ),
    Gauge(
        "experiment_p_value",
        f"{_FIXED_HORIZON}two-sided p-value of a pooled two-proportion z-test of the "
        "variant's message "
        f"payment ratio against control's; {_BELOW_MINIMUM}.",
        "experiment",
        _EXPERIMENT,
        windowed=True,
    ),
    Gauge(
        "experiment_beat_control_probability",
        f"{_FIXED_HORIZON}posterior probability that the variant's message payment ratio "
        "exceeds control's "
        f"(Beta(1 + paid, 1 + unpaid) posteriors); {_BELOW_MINIMUM}.",
        "experiment",
        _EXPERIMENT,
        windowed=True,
    ),
    Gauge(
        "open_accounts",
        "Open accounts (status open or in_plan) now, by days-past-due bucket of their "
        "oldest unpaid due date (the tenant's local date; current <= 0, then 1_30, 31_60, "
        "61_90, 91_plus) "
        "and current assignee (__unassigned__ when none): an account reassigned counts for "
        "the new agent only. State = the highest account version seen.",
        "portfolio",
        ("status", "dpd_bucket", "team", "agent", "tenant"),
    ),
    Gauge(
        "accounts_per_collector",
        "Open accounts of the team per active collector now; without a roster, active "
        "collectors are the agents with at least one open account of the team assigned. "
        "Absent for a team without one.",
        "portfolio",
        ("team", "tenant"),
    ),
    Gauge(
        "outbound_attempts_per_account",
        "Outbound contact attempts in the window per handled account: open now plus "
        "exits minus re-entries in the window, i.e. open at its start or placed in it "
        "(catalog K20), by team (the contact's and the account's; __unassigned__: none). "
        "Meant for window 30d (add it to COLLECTPULSE_WINDOWS); the reduction is "
        "1 - x / (x offset 30d). Absent without handled accounts.",
        "portfolio",
        ("team", "tenant"),
        windowed=True,
    ),
    Gauge(
        "receivables_minor",
        "Receivables now: sum of the balances (minor units) of open accounts, by currency "
        "and days-past-due bucket of their oldest unpaid due date (the tenant's local date).",
        "portfolio",
        ("currency", "dpd_bucket", "tenant"),
    ),
    *PORTFOLIO_GAUGES,
    *ALLOCATION_GAUGES,
    *COST_GAUGES,
    *COLLECTOR_GAUGES,
    *TARGET_GAUGES,
    *TEAM_PROMISE_GAUGES,
    *EXPERIMENT_GAUGES,
    Gauge(
        "last_event_timestamp_seconds",
        "Event time (occurred_at, Unix seconds) of the newest event applied from the topic.",
        "data_quality",
        ("topic",),
    ),
    Gauge(
        "processing_lag_seconds",
        "Seconds between the occurred_at of the newest applied event of the topic and the "
        "moment it was applied.",
        "data_quality",
        ("topic",),
    ),
    Gauge(
        "applied_offset",
        "Last Kafka offset whose effects are in the store, per topic and partition (the "
        "position a worker resumes from; the store, not Kafka's commit, is the authority).",
        "pipeline",
        ("topic", "partition"),
    ),
    Gauge(
        "consumer_lag_records",
        "Records in the partition not yet applied to the store: the broker's end offset "
        "minus the store's next offset to apply (from the log start when nothing was "
        "applied yet); read from Kafka by the exporter, cached a few seconds.",
        "pipeline",
        ("topic", "partition"),
    ),
    Gauge(
        "worker_heartbeat_age_seconds",
        "Seconds since the worker last wrote its heartbeat (every 5 s); a worker silent "
        "for 10 minutes is no longer listed.",
        "pipeline",
        ("worker",),
    ),
    Gauge(
        "worker_assigned_partitions",
        "Partition numbers the worker's consumer was assigned at its last heartbeat "
        "(0 while a rebalance is in progress or when the group has more workers than "
        "partitions).",
        "pipeline",
        ("worker",),
    ),
    Gauge(
        "worker_redis_wait_timeouts",
        "Batch writes since the worker started whose WAIT for a Redis replica timed out "
        "(COLLECTPULSE_REDIS_WAIT_REPLICAS): a failover right then could lose that write.",
        "pipeline",
        ("worker",),
    ),
    Gauge(
        "live_workers",
        "Workers whose last heartbeat is at most 15 s old (three missed beats make a "
        "worker stale).",
        "pipeline",
        (),
    ),
    Gauge(
        "dependency_up",
        "1 when the dependency (redis, kafka) is reachable from the exporter and no live "
        "worker reports it failing at its last heartbeat, else 0.",
        "pipeline",
        ("dependency",),
    ),
    *SEND_TIME_GAUGES,
)

APPLY_LAG_BUCKETS_S: tuple[float, ...] = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    300.0,
)
"""Upper bounds (seconds) of the publish -> applied lag histogram."""

LANDING_LOAD_BUCKETS_S: tuple[float, ...] = (
    0.25,
    0.5,
    1.0,
    1.5,
    2.0,
    2.5,
    3.0,
    4.0,
    5.0,
    7.5,
    10.0,
    20.0,
)
"""Upper bounds (seconds) of the landing-page load time histogram: fine around the 2.5 s
that page-speed guidance calls good, coarse past the 10 s where visitors have left."""

_RESPONSE = ("channel", "campaign", "tenant")
"""Response times by campaign, not by variant: 18 samples per series made the histograms a
third of a scrape at 5 variants per campaign, and an A/B test is decided on the message
payment ratio, not on response times (docs/BENCHMARKS.md, "Scrape")."""

HISTOGRAMS: tuple[Histogram, ...] = (
    Histogram(
        "send_to_open_seconds",
        "Seconds from a message's send to its first open.",
        "response_time",
        _RESPONSE,
        RESPONSE_TIME_BUCKETS_S,
    ),
    Histogram(
        "send_to_click_seconds",
        "Seconds from a message's send to its first link click.",
        "response_time",
        _RESPONSE,
        RESPONSE_TIME_BUCKETS_S,
    ),
    Histogram(
        "send_to_payment_seconds",
        "Seconds from a message's send to the first successful payment attributed to it.",
        "response_time",
        _RESPONSE,
        RESPONSE_TIME_BUCKETS_S,
    ),
    Histogram(
        "open_to_payment_seconds",
        "Seconds from a message's first open to the first successful payment attributed to it.",
        "response_time",
        _RESPONSE,
        RESPONSE_TIME_BUCKETS_S,
    ),
    Histogram(
        "apply_lag_seconds",
        "Seconds from a record's Kafka timestamp (when it was published) to the moment its "
        "batch's effects were written to the store, per topic: the pipeline's end-to-end lag.",
        "pipeline",
        ("topic",),
        APPLY_LAG_BUCKETS_S,
    ),
    Histogram(
        "landing_load_seconds",
        "Seconds the landing page took to load (the pageview's load_ms), by traffic source "
        "and device; views that do not report it (schema_version 1) are not observed.",
        "landing",
        ("source", "device", "tenant"),
        LANDING_LOAD_BUCKETS_S,
    ),
)
