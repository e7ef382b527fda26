"""collectpulse.kpi."""
