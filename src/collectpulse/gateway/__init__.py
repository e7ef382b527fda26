"""The webhook gateway: provider webhooks in over HTTP, verified, published to raw.<provider>.

``verify/`` holds the per-provider verifiers (pure checks over bytes and headers);
``app`` the routes and limits, ``publish`` the acknowledged Kafka producer,
``config`` which providers are enabled, ``tokens`` Mailgun's replay store,
``confirm`` the SNS subscription handshake, ``server`` the ``collectpulse gateway``
command's wiring. docs/GATEWAY.md is the operator's guide.
"""
