"""collectpulse.simulate."""
