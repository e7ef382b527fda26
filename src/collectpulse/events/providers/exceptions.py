"""The one exception a provider adapter raises: a payload it cannot read."""

from typing import ClassVar


class ProviderError(ValueError):
    """A raw provider payload that cannot be normalised (bad JSON, missing or mistyped field).

    The message names the provider and the field, never the field's value: payloads
    carry e-mail addresses and phone numbers, and this text ends up in logs and in
    dead-letter headers.
    """

    # The same bytes fail the same way every time: dead-letter them, do not retry.
    retriable: ClassVar[bool] = False

    def __init__(self, provider: str, message: str) -> None:
        super().__init__(f"{provider}: {message}")
        self.provider = provider
