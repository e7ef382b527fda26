"""Errors of Kafka set-up; the type says what the operator must fix."""


class KafkaSetupError(Exception):
    """Kafka cannot be used as configured; the message says what to change."""


class TopicLayoutError(KafkaSetupError):
    """Existing topics are not co-partitioned as the joins require; nothing was changed."""


class BrokerUnavailableError(KafkaSetupError):
    """Kafka could not be reached or refused a request."""
