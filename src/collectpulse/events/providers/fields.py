"""Typed, path-aware reads from decoded provider JSON, failing only with ProviderError.

Provider payloads are untyped JSON. Every adapter reads them through `Fields`, so a
missing or mistyped field becomes a `ProviderError` that names the provider and the
dotted path of the field (`ses: missing field 'mail.messageId'`), and no KeyError or
TypeError can leak out of an adapter.
"""

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Final
from urllib.parse import parse_qsl

import orjson

from collectpulse.events.providers.exceptions import ProviderError

# Generous bounds for a Unix timestamp in seconds (2001 .. 2286): a value outside
# is a milliseconds timestamp or garbage, and would silently land in another era.
_MIN_UNIX_S: Final = 1_000_000_000
_MAX_UNIX_S: Final = 10_000_000_000


def _type_name(value: object) -> str:
    return "null" if value is None else type(value).__name__


def load_json(provider: str, payload: bytes) -> object:
    """Decode a JSON payload, or raise ProviderError naming the provider."""
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise ProviderError(provider, f"payload is not valid JSON ({exc.msg})") from None


def load_form(provider: str, payload: bytes) -> dict[str, str]:
    """Decode an application/x-www-form-urlencoded body; a repeated key keeps its last value."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise ProviderError(provider, "form payload is not UTF-8") from None
    try:
        return dict(parse_qsl(text, keep_blank_values=True, strict_parsing=True))
    except ValueError:
        raise ProviderError(provider, "payload is neither JSON nor a form-encoded body") from None


class Fields:
    """A JSON object plus where it sits in the payload, with typed accessors."""

    def __init__(self, provider: str, value: object, path: str = "") -> None:
        if not isinstance(value, Mapping):
            where = f"'{path}'" if path else "payload"
            raise ProviderError(provider, f"{where} must be a JSON object, got {_type_name(value)}")
        self.provider = provider
        self.path = path
        self.data: Mapping[str, object] = value

    def _where(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def _error(self, key: str, problem: str) -> ProviderError:
        return ProviderError(self.provider, f"field '{self._where(key)}' {problem}")

    def _missing(self, key: str) -> ProviderError:
        return ProviderError(self.provider, f"missing field '{self._where(key)}'")

    def get(self, key: str) -> object:
        """The raw value, None when absent."""
        return self.data.get(key)

    def has(self, key: str) -> bool:
        """True when the key is present and not null."""
        return self.data.get(key) is not None

    def text(self, key: str) -> str:
        """A required non-blank string, stripped."""
        value = self.opt_text(key)
        if value is None:
            raise self._missing(key)
        return value

    def opt_text(self, key: str) -> str | None:
        """A string, stripped; None when absent, null or blank."""
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self._error(key, f"must be a string, got {_type_name(value)}")
        return value.strip() or None

    def opt_code(self, key: str) -> str | None:
        """A code that providers send as a number or a string (`550`, `"30005"`)."""
        value = self.data.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return self.opt_text(key)

    def opt_bool(self, key: str) -> bool | None:
        """A JSON boolean; None when absent or null."""
        value = self.data.get(key)
        if value is None or isinstance(value, bool):
            return value
        raise self._error(key, f"must be a boolean, got {_type_name(value)}")

    def obj(self, key: str) -> "Fields":
        """A required nested object."""
        value = self.data.get(key)
        if value is None:
            raise self._missing(key)
        return Fields(self.provider, value, self._where(key))

    def opt_obj(self, key: str) -> "Fields | None":
        """A nested object; None when absent or null."""
        value = self.data.get(key)
        return None if value is None else Fields(self.provider, value, self._where(key))

    def objs(self, key: str) -> list["Fields"]:
        """A required, non-empty list of objects."""
        value = self.data.get(key)
        if value is None:
            raise self._missing(key)
        if not isinstance(value, list):
            raise self._error(key, f"must be a list, got {_type_name(value)}")
        if not value:
            raise self._error(key, "must not be empty")
        return [
            Fields(self.provider, item, f"{self._where(key)}[{i}]") for i, item in enumerate(value)
        ]

    def texts(self, key: str) -> list[str]:
        """A required, non-empty list of non-blank strings, stripped."""
        value = self.data.get(key)
        if value is None:
            raise self._missing(key)
        if not isinstance(value, list) or not value:
            raise self._error(key, "must be a non-empty list of strings")
        if not all(isinstance(item, str) and item.strip() for item in value):
            raise self._error(key, "must hold only non-blank strings")
        return [item.strip() for item in value]

    def iso_time(self, key: str) -> datetime:
        """A required ISO 8601 timestamp with an offset (`Z` or `+hh:mm`)."""
        text = self.text(key)
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise self._error(key, "is not an ISO 8601 timestamp") from None
        if parsed.tzinfo is None:
            # Guessing a zone would shift every window; the providers we read send one.
            raise self._error(key, "has no UTC offset")
        return parsed

    def unix_time(self, key: str) -> datetime:
        """A required Unix timestamp in seconds (int or float), as an aware UTC datetime."""
        value = self.data.get(key)
        if value is None:
            raise self._missing(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._error(key, f"must be a number of seconds, got {_type_name(value)}")
        if not _MIN_UNIX_S <= value < _MAX_UNIX_S:
            raise self._error(key, "is not a Unix timestamp in seconds")
        return datetime.fromtimestamp(value, tz=UTC)
