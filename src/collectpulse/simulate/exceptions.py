"""Errors of the simulator; `SimulateError` is the root the command line catches."""


class SimulateError(Exception):
    """The simulator cannot do what it was asked; the message says what to change."""


class ScenarioError(SimulateError, ValueError):
    """A scenario is inconsistent (a probability out of range, an unknown tenant, ...)."""


class TopicLayoutError(SimulateError):
    """Existing topics are not co-partitioned as the joins require; nothing was published."""


class BrokerUnavailableError(SimulateError):
    """Kafka could not be reached or refused a request."""


class PublishError(SimulateError):
    """A record was not acknowledged by Kafka after the producer's own retries."""
