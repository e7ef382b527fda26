"""collectpulse.stream."""
