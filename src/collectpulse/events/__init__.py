"""collectpulse.events."""
