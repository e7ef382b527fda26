"""The exporter's versioned JSON API (``/api/v1``): the agent desktop's engagement view,
with its OpenAPI document. Served behind the exporter's TLS and basic auth."""
