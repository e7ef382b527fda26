"""Errors of the simulator; the command line catches `SimulateError` and `KafkaSetupError`."""

from collectpulse.kafka.errors import BrokerUnavailableError, KafkaSetupError, TopicLayoutError

__all__ = [
    "BrokerUnavailableError",
    "KafkaSetupError",
    "PublishError",
    "ScenarioError",
    "SimulateError",
    "TopicLayoutError",
]


class SimulateError(Exception):
    """The simulator cannot do what it was asked; the message says what to change."""


class ScenarioError(SimulateError, ValueError):
    """A scenario is inconsistent (a probability out of range, an unknown tenant, ...)."""


class PublishError(SimulateError):
    """A record was not acknowledged by Kafka after the producer's own retries."""
