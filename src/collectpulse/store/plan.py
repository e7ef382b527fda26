"""A batch's Redis effects, accumulated in memory and flattened for write.lua.

Counts are summed per (key, field) before they are sent, so a batch of
thousands of events costs one HINCRBY per distinct counter, not per event
(../shared/redis-facts.md: calls per event, not round trips, set the rate).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from itertools import chain

import orjson

# Lua's unpack() has a C-stack limit; keep one op's arguments well below it.
MAX_ARGS_PER_OP = 512


@dataclass
class WritePlan:
    """Effects of one batch on one partition's keys, in the order they apply."""

    incr: defaultdict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    hset: dict[str, dict[str, str]] = field(default_factory=dict)
    hdel: dict[str, set[str]] = field(default_factory=dict)
    hmax: dict[tuple[str, str], int] = field(default_factory=dict)
    hmin: dict[tuple[str, str], int] = field(default_factory=dict)
    sadd: dict[str, list[str]] = field(default_factory=dict)
    pfadd: dict[str, set[str]] = field(default_factory=dict)
    rpush: dict[str, list[str]] = field(default_factory=dict)
    zadd_nx: dict[str, dict[str, int]] = field(default_factory=dict)
    zadd: dict[str, dict[str, int]] = field(default_factory=dict)
    outbox: list[tuple[bytes, bytes]] = field(default_factory=list)
    """Repartition records (key, value) to publish before the write (see store.touches)."""
    zrem: dict[str, set[str]] = field(default_factory=dict)
    delete: set[str] = field(default_factory=set)
    trim: dict[str, int] = field(default_factory=dict)
    expire: dict[str, int] = field(default_factory=dict)
    net: defaultdict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    """Increments whose field is deleted when it reaches 0: aggregates of state that
    comes and goes (an account's receivables by due date), so they stay bounded."""

    def add_net(self, key: str, name: str, amount: int) -> None:
        """``add``, and the field is removed once it sums to 0 (see ``net``)."""
        self.net[(key, name)] += amount

    def add(self, key: str, counter_field: str, amount: int = 1) -> None:
        self.incr[(key, counter_field)] += amount

    def set_fields(self, key: str, values: dict[str, str]) -> None:
        fields = self.hset.get(key)
        if fields is None:
            self.hset[key] = dict(values)
        else:
            fields.update(values)

    def keep_max(self, key: str, name: str, value: int) -> None:
        if value > self.hmax.get((key, name), -1):
            self.hmax[(key, name)] = value

    def keep_min(self, key: str, name: str, value: int) -> None:
        current = self.hmin.get((key, name))
        if current is None or value < current:
            self.hmin[(key, name)] = value

    def remember(self, key: str, member: str) -> None:
        members = self.sadd.get(key)
        if members is None:
            self.sadd[key] = [member]
        else:
            members.append(member)

    def count_unique(self, key: str, member: str) -> None:
        self.pfadd.setdefault(key, set()).add(member)

    def push(self, key: str, value: str) -> None:
        self.rpush.setdefault(key, []).append(value)

    def index(self, key: str, member: str, score: int, *, replace: bool = False) -> None:
        """Add ``member`` to a sorted set: keep its first score, or the latest with ``replace``."""
        if replace:
            self.zadd.setdefault(key, {})[member] = score
            self.zrem.get(key, set()).discard(member)
        else:
            self.zadd_nx.setdefault(key, {}).setdefault(member, score)

    def unindex(self, key: str, member: str) -> None:
        self.zrem.setdefault(key, set()).add(member)
        self.zadd.get(key, {}).pop(member, None)

    def trim_before(self, key: str, score: int) -> None:
        """Remove sorted-set members scored below ``score``."""
        self.trim[key] = max(score, self.trim.get(key, score))

    def drop(self, key: str) -> None:
        self.delete.add(key)

    def expire_in(self, key: str, ttl_s: int) -> None:
        current = self.expire.get(key)
        if current is None:
            self.expire[key] = max(ttl_s, 0)
        elif ttl_s > current:
            self.expire[key] = ttl_s

    def is_empty(self) -> bool:
        return not any(
            (
                self.incr,
                self.hset,
                self.hdel,
                self.hmax,
                self.sadd,
                self.pfadd,
                self.rpush,
                self.zadd_nx,
                self.zrem,
                self.delete,
                self.expire,
                self.net,
            )
        )

    def operations(self) -> list[list[str]]:
        """The ops for write.lua, each ``[command, key, *args]``, all strings.

        Increments are grouped per key (``HINCRBYS key f1 n1 f2 n2 ...``) and
        long argument lists are chunked.
        """
        ops: list[list[str]] = []
        append = ops.append

        def op(name: str, key: str, args: list[str], step: int = 1) -> None:
            if not args:
                return  # e.g. a sorted set whose only member this batch removed again
            size = MAX_ARGS_PER_OP - MAX_ARGS_PER_OP % step
            if len(args) <= size:
                append([name, key, *args])
                return
            for start in range(0, len(args), size):
                append([name, key, *args[start : start + size]])

        # Deletes first: a parked list consumed by this batch is removed before
        # anything else of the batch could push to it again.
        for key in sorted(self.delete):
            append(["DEL", key])
        increments: dict[str, list[str]] = {}
        for (key, name), amount in self.incr.items():
            if amount:
                pairs = increments.get(key)
                if pairs is None:
                    increments[key] = [name, str(amount)]
                else:
                    pairs += (name, str(amount))
        for key, pairs in increments.items():
            op("HINCRBYS", key, pairs, step=2)
        netted: dict[str, list[str]] = {}
        for (key, name), amount in self.net.items():
            if amount:
                netted.setdefault(key, []).extend((name, str(amount)))
        for key, pairs in netted.items():
            op("HINCRBYS_NET", key, pairs, step=2)
        for key, mapping in self.hset.items():
            op("HSET", key, list(chain.from_iterable(mapping.items())), step=2)
        for key, names in self.hdel.items():
            op("HDEL", key, sorted(names))
        for (key, name), value in self.hmax.items():
            append(["HMAX", key, name, str(value)])
        for (key, name), value in self.hmin.items():
            append(["HMIN", key, name, str(value)])
        for key, members in self.sadd.items():
            op("SADD", key, members)
        for key, uniques in self.pfadd.items():
            op("PFADD", key, sorted(uniques))
        for key, pushed in self.rpush.items():
            op("RPUSH", key, pushed)
        for key, scored in self.zadd_nx.items():
            pairs = [part for m, score in scored.items() for part in (str(score), m)]
            op("ZADDNX", key, pairs, step=2)
        for key, scored in self.zadd.items():
            op(
                "ZADD",
                key,
                [part for m, score in scored.items() for part in (str(score), m)],
                step=2,
            )
        for key, removed in self.zrem.items():
            op("ZREM", key, sorted(removed))
        for key, score in self.trim.items():
            append(["ZREMRANGEBYSCORE", key, "-inf", f"({score}"])
        for key, ttl_s in self.expire.items():
            append(["EXPIRE", key, str(ttl_s)])
        return ops

    def encode(self, first: int = 1) -> tuple[list[str], bytes]:
        """The ops' keys and the ops as one JSON argument, each op naming its key by its
        index in KEYS (``first`` for the first of these keys).

        The keys go in KEYS so that a cluster sees every key the script touches; the
        values still travel as one string, not one protocol argument each.
        """
        index: dict[str, int] = {}
        ops: list[list[str | int]] = []
        for name, key, *args in self.operations():
            at = index.get(key)
            if at is None:
                at = index[key] = first + len(index)
            ops.append([name, at, *args])
        return list(index), orjson.dumps(ops)
