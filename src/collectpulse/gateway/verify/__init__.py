"""Webhook verification per provider: pure checks over the exact request bytes and headers.

Each verifier answers `Accepted` (publish the body unchanged, under the natural key) or
`Refusal` (status + bounded reason); none raises on any input. See `base.py` for the
contract the gateway server codes against.
"""
