"""collectpulse.store."""
