"""The order oracle's K21 samples (tests/order/oracle.py): messages by send hour and weekday."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from tests.faults.oracle import Key, P, labels

SEND_SLOT_FAMILIES = {
    f"{P}send_hour_messages": "send_hour",
    f"{P}send_weekday_messages": "send_weekday",
}


def send_slot_samples(messages: Mapping[str, Any], paid: set[str]) -> dict[Key, float]:
    """K21 samples: each message (``oracle._Message``) once per stage it reached, in the UTC
    hour and weekday of its send (the order runs set no tenant zone), both windows."""
    out: Counter[Key] = Counter()
    for mid, m in messages.items():
        assert m.sent_s is not None
        stages = [f for f in ("delivered", "opened_human", "clicked") if f in m.flags]
        stages += ["paid"] if mid in paid else []
        sent = datetime.fromtimestamp(m.sent_s, UTC)
        slot = {"send_hour": f"{sent.hour:02d}", "send_weekday": str(sent.isoweekday())}
        for name, label in SEND_SLOT_FAMILIES.items():
            for stage in stages:
                for window in ("7d", "28d"):
                    ls = labels(
                        channel=m.dims["channel"],
                        tenant=m.dims["tenant"],
                        stage=stage,
                        window=window,
                        **{label: slot[label]},
                    )
                    out[(name, ls)] += 1
    return dict(out)
