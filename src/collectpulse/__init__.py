"""collectpulse: streaming KPIs for collections teams, Kafka -> Faust -> Redis -> Prometheus."""

__version__ = "0.1.0"
