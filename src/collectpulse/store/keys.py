"""The Redis key layout: every key name collectpulse uses is built here.

Scale-out rule (kpi-catalog section 7): all keys an event's atomic write
touches carry the hash tag of the Kafka partition they belong to, ``{p7}``, so
one Lua call never spans two Redis Cluster slots. Co-partitioned topics share
partition numbers, so ``delivery``/``open``/``click``/``bounce`` partition 7
all write ``{p7}`` keys, including the per-message state they join on.

Per partition ``{pN}`` (prefix ``cp`` by default):

====================================  ==========================================
``cp:{pN}:ver``                        write version; bumped by every apply (optimistic
                                       concurrency between read and write phase; the
                                       exporter's per-partition read cache)
``cp:{pN}:off``                        hash topic -> last applied Kafka offset (the
                                       authority on position, not Kafka's commit)
``cp:{pN}:tot``                        hash counter-field -> all-time total
``cp:{pN}:c:<gran_s>:<bucket_s>``      hash counter-field -> count in that bucket
                                       (fine = bucket_size, coarse = 1 h), with TTL
``cp:{pN}:u:<gran_s>:<bucket_s>:<x>``  HyperLogLog of unique visitors / payers
``cp:{pN}:unames``                     set of the names ``<x>`` used by those HyperLogLogs
``cp:{pN}:seen:<topic>:<day>``         set of event ids seen (dedupe), sliced by the
                                       event's own day so one key expires at a time
``cp:{pN}:m:<message_id>``             hash: one message's dimensions, send time, flags
``cp:{pN}:park:<message_id>``          list of events waiting for their ``sent``
``cp:{pN}:parked``                     sorted set message_id -> first park time (orphans)
``cp:{pN}:cust:<customer_id>``         hash: a customer's touched messages, latest landing
                                       view, recent payment failures, payments held for a
                                       message not touched yet (store.customer_effects)
``cp:{pN}:struggling``                 sorted set of struggling customers (per tenant)
``cp:{pN}:ag:<gran_s>:<bucket_s>``     hash: the per-agent table's counts, agent ids uncapped
                                       (store.agent_ledger), with the buckets' TTLs
``cp:{pN}:st:<hour_start_s>``          hash: K21 slot counts (stage, channel, campaign, tenant,
                                       local weekday and hour) of the messages sent in that
                                       hour (store.send_time; lives 28 d + attribution)
``cp:{pN}:sta:<hour_start_s>``         the same, campaigns summed (read by /metrics)
``cp:{pN}:eng:<customer_id>:<day>``    hash: the customer's messages sent, views, payments
                                       and promises of that day, for the agent desktop
                                       (store.engagement; expires engagement_history later)
``cp:{pN}:acct:<account_id>``          hash: an account's state at the highest version seen
                                       and what it contributes to the aggregates below
                                       (store.account_effects); aggregate fields below
                                       join their parts with FIELD_SEP and drop at 0
``cp:{pN}:acc-open``                   hash ``<tenant> <status> <team> <agent> <due_date>``
                                       -> open accounts (labels as reported, capped)
``cp:{pN}:acc-recv``                   hash ``<tenant> <currency> <due_date> b|n`` -> balance
                                       (minor units) / count of open accounts; and
                                       ``<tenant> <currency> <team> t`` -> open accounts
``cp:{pN}:acc-agents``                 hash ``<tenant> <team> <agent_id>`` -> open accounts
                                       assigned to the agent (uncapped id: active collectors)
``cp:{pN}:flow:<YYYY-MM-DD>``          hash ``<tenant> <currency> s|r|c`` -> balance flows of
                                       that tenant-local day: S, R and R's payments (minor
                                       units; store.account_flows), expiring 400 days later;
                                       ``<tenant> n`` -> contact attempts (K12)
``cp:{pN}:alloc:<YYYY-MM-DD>``         hash ``<tenant> <currency> a|c|x|e <team>`` -> net
                                       allocated, x commission_bp, account exits /
                                       re-entries, and ``<tenant> <currency> u`` -> net
                                       unallocated, of that tenant-local day
                                       (store.allocation; a|x|e without team: older), 400 days
``cp:{pN}:acc-net:<YYYY-MM-DD>``       hash ``<tenant> <currency> <account_id>`` -> net
                                       allocated to the account that day (92 days)
``cp:{pN}:cohorts``                    hash ``<tenant> <currency> <YYYY-MM> p|n|a<days>`` ->
                                       placed balance, net allocated (K16)
``cp:{pN}:agnet:<YYYY-MM-DD>``        hash ``<tenant> <currency> <agent_id>`` -> net collected
                                       (succeeded - reversed, minor units) of that
                                       tenant-local day, by the credited agent's uncapped id
                                       (K8, store.collector_net), expiring 31 days later
====================================  ==========================================

Per provider (``{raw.<provider>}`` slot, stream.normalise): ``cp:{raw.ses}:skipped`` and
``cp:{raw.ses}:dead_lettered`` (hash kind/reason -> count) with ``cp:{raw.ses}:off:<p>``.

Global (one slot each, written outside the per-event atomic write; idempotent):
``cp:{meta}:partitions`` (set of partition numbers ever written),
``cp:{meta}:heartbeats`` (hash worker id -> its latest heartbeat, stream.heartbeat) and
``cp:{labels}:<label>`` (admitted label values, for the cardinality cap),
``cp:{costs}:c|off|q|ids`` (the standing costs, applied offsets, quality counts and event
ids seen; store.costs),
``cp:{labels}:roster-off``, ``cp:{targets}:off``, ``cp:{experiments}:off`` (the agent,
target and experiment topics' applied offsets; store.reference_offsets),
``cp:{gateway}:mailgun-token:<sha256>`` (a Mailgun webhook token seen, with a TTL; gateway.tokens).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

# Separates label values inside a counter field; label values never contain it
# (the label cap maps such values to __other__).
FIELD_SEP = "\x1f"
DAY_S = 86_400


@dataclass(frozen=True, slots=True)
class Keys:
    """Key names for one key prefix (``Settings.key_prefix``)."""

    prefix: str = "cp"

    def mailgun_token(self, token_sha256: str) -> str:
        return f"{self.prefix}:{{gateway}}:mailgun-token:{token_sha256}"

    def tag(self, partition: int) -> str:
        return _tag(self.prefix, partition)

    def version(self, partition: int) -> str:
        return f"{self.tag(partition)}:ver"

    def offsets(self, partition: int) -> str:
        return f"{self.tag(partition)}:off"

    def totals(self, partition: int) -> str:
        return f"{self.tag(partition)}:tot"

    def bucket(self, partition: int, gran_s: int, bucket_start_s: int) -> str:
        return f"{self.tag(partition)}:c:{gran_s}:{bucket_start_s}"

    def uniques(self, partition: int, gran_s: int, bucket_start_s: int, name: str) -> str:
        return f"{self.tag(partition)}:u:{gran_s}:{bucket_start_s}:{name}"

    def unique_names(self, partition: int) -> str:
        """Set of the HyperLogLog names (counter field) used in the partition."""
        return f"{self.tag(partition)}:unames"

    def seen(self, partition: int, topic: str, occurred_s: int) -> str:
        return f"{self.tag(partition)}:seen:{topic}:{occurred_s // DAY_S}"

    def message(self, partition: int, message_id: str) -> str:
        return f"{self.tag(partition)}:m:{message_id}"

    def park(self, partition: int, message_id: str) -> str:
        return f"{self.tag(partition)}:park:{message_id}"

    def parked(self, partition: int) -> str:
        return f"{self.tag(partition)}:parked"

    def customer(self, partition: int, customer_id: str) -> str:
        return f"{self.tag(partition)}:cust:{customer_id}"

    def agent_bucket(self, partition: int, gran_s: int, bucket_start_s: int) -> str:
        """Hash ``column<SEP>agent id<SEP>tenant<SEP>currency`` -> count in that bucket: the
        uncapped per-agent table (store.agent_ledger), read only by /api/v1/agents."""
        return f"{self.tag(partition)}:ag:{gran_s}:{bucket_start_s}"

    def send_time(self, partition: int, hour_start_s: int) -> str:
        """Hash of K21 slot counts of the messages sent in one UTC hour (store.send_time)."""
        return f"{self.tag(partition)}:st:{hour_start_s}"

    def send_time_all(self, partition: int, hour_start_s: int) -> str:
        """``send_time`` with campaigns summed: what /metrics reads every scrape."""
        return f"{self.tag(partition)}:sta:{hour_start_s}"

    def engagement(self, partition: int, customer_id: str, day: int) -> str:
        """Hash of one customer's engagement facts of one day (store.engagement)."""
        return f"{self.tag(partition)}:eng:{customer_id}:{day}"

    def account(self, partition: int, account_id: str) -> str:
        return f"{self.tag(partition)}:acct:{account_id}"

    def open_accounts(self, partition: int) -> str:
        """Hash of open-account counts by labels and due date; fields at 0 are removed."""
        return f"{self.tag(partition)}:acc-open"

    def receivables(self, partition: int) -> str:
        """Hash of open balances and counts by tenant, currency and due date."""
        return f"{self.tag(partition)}:acc-recv"

    def account_agents(self, partition: int) -> str:
        """Hash of open assigned accounts per tenant, team and agent id."""
        return f"{self.tag(partition)}:acc-agents"

    def agent_net(self, partition: int, day: str) -> str:
        """Hash of one tenant-local day's net collected per agent id (store.collector_net)."""
        return f"{self.tag(partition)}:agnet:{day}"

    def flows(self, partition: int, day: str) -> str:
        """Hash of one tenant-local day's balance flows (``day`` is its ISO date)."""
        return f"{self.tag(partition)}:flow:{day}"

    def allocation(self, partition: int, day: str) -> str:
        """Hash of one tenant-local day's allocated net collected and exits (store.allocation)."""
        return f"{self.tag(partition)}:alloc:{day}"

    def account_collected(self, partition: int, day: str) -> str:
        """Hash of one tenant-local day's net collected allocated per account (K10 JSON)."""
        return f"{self.tag(partition)}:acc-net:{day}"

    def cohorts(self, partition: int) -> str:
        """Hash of placement cohorts: placed balance and net allocated by month (K16)."""
        return f"{self.tag(partition)}:cohorts"

    def struggling(self, partition: int) -> str:
        """Sorted set ``<tenant>\x1f<customer_id>`` -> time the customer started struggling."""
        return f"{self.tag(partition)}:struggling"

    def provider_tally(self, provider: str, tally: str) -> str:
        """Hash kind/reason -> count of a provider's skipped or dead-lettered raw records."""
        return f"{self.prefix}:{{raw.{provider}}}:{tally}"

    def provider_offset(self, provider: str, partition: int) -> str:
        """Last raw offset of ``partition`` whose provider tallies are counted."""
        return f"{self.prefix}:{{raw.{provider}}}:off:{partition}"

    def partitions(self) -> str:
        return f"{self.prefix}:{{meta}}:partitions"

    def heartbeats(self) -> str:
        """Hash worker id -> JSON heartbeat (beat time, assigned partitions, dependency state)."""
        return f"{self.prefix}:{{meta}}:heartbeats"

    def labels(self, label: str) -> str:
        return f"{self.prefix}:{{labels}}:{label}"


@lru_cache(maxsize=4096)
def _tag(prefix: str, partition: int) -> str:
    return f"{prefix}:{{p{partition}}}"


def split_field(raw: str) -> tuple[str, tuple[str, ...]]:
    name, *values = raw.split(FIELD_SEP)
    return name, tuple(values)
