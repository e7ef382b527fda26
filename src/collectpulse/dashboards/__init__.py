"""Grafana dashboards as code, generated from the KPI definitions table.

``python -m collectpulse.dashboards`` writes ``deploy/grafana/dashboards/*.json``:
`boards` declares what each dashboard shows (`model`), `promql` renders the
queries from `collectpulse.kpi.definitions` (reusing the recording rules of
`recorded`), and `grafana` builds Grafana's JSON model with
grafana-foundation-sdk. The SDK is a development dependency (extra ``dev``):
the service itself never imports this package.
"""
