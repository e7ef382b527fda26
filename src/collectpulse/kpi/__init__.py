"""Pure KPI math and the one KPI definitions table; no I/O, imports nothing else of collectpulse.

Modules: `definitions` (the table, with `model`, `labels`, `computed`),
`ratios`, `experiment`, `histograms`, `attribution`, `windows`, `docs`
(renders docs/KPIS.md) and `validation` (consistency of the table).
"""
