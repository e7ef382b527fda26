"""collectpulse.exporter."""
