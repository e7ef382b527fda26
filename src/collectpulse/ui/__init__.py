"""The live views of collectpulse: a web page served by the exporter and its JSON model."""
