"""collectpulse.localstack."""
