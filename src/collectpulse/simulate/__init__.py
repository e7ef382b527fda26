"""The realistic event generator: seeded collections traffic for every canonical topic.

- `EventGenerator` (pure): an endless, deterministic stream of canonical events
  for a `Scenario` (campaigns with variants, channels, segments, tenants),
  with optional upstream duplicates and late `sent` events.
- `to_record` / `to_json`: the Kafka record an event must be produced as.
- `publish` (Kafka): paced, idempotent publishing, with optional poison records.
- `add_arguments` / `run_simulate`: the `collectpulse simulate` command.
"""

from collectpulse.kafka.topics import TOPIC_NAMES, ensure_topics
from collectpulse.simulate.cli import add_arguments, run_simulate
from collectpulse.simulate.exceptions import (
    BrokerUnavailableError,
    PublishError,
    ScenarioError,
    SimulateError,
    TopicLayoutError,
)
from collectpulse.simulate.generator import EventGenerator, GeneratorStats
from collectpulse.simulate.poison import PoisonMaker
from collectpulse.simulate.publisher import PublishReport, publish
from collectpulse.simulate.records import Record, to_json, to_record
from collectpulse.simulate.scenario import (
    CONTROL,
    DEFAULT_SCENARIO,
    Campaign,
    ChannelBehaviour,
    Scenario,
    Tenant,
    Variant,
)

__all__ = [
    "CONTROL",
    "DEFAULT_SCENARIO",
    "TOPIC_NAMES",
    "BrokerUnavailableError",
    "Campaign",
    "ChannelBehaviour",
    "EventGenerator",
    "GeneratorStats",
    "PoisonMaker",
    "PublishError",
    "PublishReport",
    "Record",
    "Scenario",
    "ScenarioError",
    "SimulateError",
    "Tenant",
    "TopicLayoutError",
    "Variant",
    "add_arguments",
    "ensure_topics",
    "publish",
    "run_simulate",
    "to_json",
    "to_record",
]
