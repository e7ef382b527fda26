"""Customer touches: the repartition records that join messages and views to payments.

Message events are keyed by ``message_id`` and pageviews by ``visitor_id``,
but payments and promises by ``customer_id``. A join across those keys goes
through a repartition topic (kpi-catalog section 7), as Kafka Streams would:
the message side publishes a ``Touch`` keyed by ``customer_id`` whenever a
message is delivered, opened or clicked, the landing side whenever a known
customer views the page, and the customer side keeps them in the customer's
hash for payment attribution and conversion by source. Publishing happens
before the source batch's write, so a crash can only repeat a touch, and
applying a touch twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import orjson

TOUCH_TOPIC = "customer-touch"
TouchKind = Literal["sent", "delivered", "opened", "clicked", "view"]


@dataclass(frozen=True, slots=True)
class Touch:
    kind: TouchKind
    customer_id: str
    at_s: int
    message_id: str = ""
    sent_s: int = 0
    dims: str = ""
    source: str = ""

    def encode(self) -> tuple[bytes, bytes]:
        """(key, value) for the repartition topic."""
        value = {"k": self.kind, "c": self.customer_id, "t": self.at_s}
        if self.message_id:
            value.update(m=self.message_id, s=self.sent_s, d=self.dims)
        if self.source:
            value["src"] = self.source
        return self.customer_id.encode(), orjson.dumps(value)


_KINDS = frozenset({"sent", "delivered", "opened", "clicked", "view"})


def decode_touch(raw: bytes | None) -> Touch | None:
    """A touch from its JSON, or None when the record is not one (it is counted invalid)."""
    try:
        value = orjson.loads(raw or b"")
        kind = value["k"]
        if kind not in _KINDS:
            return None
        return Touch(
            kind=kind,
            customer_id=str(value["c"]),
            at_s=int(value["t"]),
            message_id=str(value.get("m", "")),
            sent_s=int(value.get("s", 0)),
            dims=str(value.get("d", "")),
            source=str(value.get("src", "")),
        )
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None
