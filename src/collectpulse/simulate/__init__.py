"""The realistic event generator: seeded collections traffic for every canonical topic.

- `EventGenerator` (pure): an endless, deterministic stream of canonical events
  for a `Scenario` (campaigns with variants, channels, segments, tenants),
  with optional upstream duplicates and late `sent` events.
- `to_record` / `to_json`: the Kafka record an event must be produced as.
- `PoisonMaker`: malformed records for the dead-letter path.
"""

from collectpulse.simulate.exceptions import ScenarioError, SimulateError
from collectpulse.simulate.generator import EventGenerator, GeneratorStats
from collectpulse.simulate.poison import PoisonMaker
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
    "Campaign",
    "ChannelBehaviour",
    "EventGenerator",
    "GeneratorStats",
    "PoisonMaker",
    "Record",
    "Scenario",
    "ScenarioError",
    "SimulateError",
    "Tenant",
    "Variant",
    "to_json",
    "to_record",
]
