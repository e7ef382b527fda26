"""How a WritePlan becomes write.lua's ops: summed increments, whole pairs, bounded chunks."""

from __future__ import annotations

from collections import Counter

import orjson

from collectpulse.store.plan import MAX_ARGS_PER_OP, WritePlan

Op = tuple[str, str, list[str]]


def ops_of(plan: WritePlan) -> list[Op]:
    """(command, key, args) of every op, in the order write.lua runs them."""
    return [(name, key, args) for name, key, *args in plan.operations()]


def pairs_of(args: list[str]) -> dict[str, str]:
    assert len(args) % 2 == 0, f"an op split a pair: {len(args)} arguments"
    return dict(zip(args[0::2], args[1::2], strict=True))


def test_increments_of_one_field_are_summed_before_they_are_sent() -> None:
    plan = WritePlan()
    for _ in range(1000):
        plan.add("cp:{p1}:tot", "events_received\x1fopen")
    plan.add("cp:{p1}:tot", "events_received\x1fclick", 2)
    plan.add("cp:{p1}:tot", "events_received\x1fclick", 3)

    increments = [(key, args) for name, key, args in ops_of(plan) if name == "HINCRBYS"]

    assert len(increments) == 1, "one op per key, not per increment"
    key, args = increments[0]
    assert key == "cp:{p1}:tot"
    assert pairs_of(args) == {"events_received\x1fopen": "1000", "events_received\x1fclick": "5"}


def test_increments_that_cancel_out_write_nothing() -> None:
    plan = WritePlan()
    plan.add("cp:{p1}:tot", "x", 4)
    plan.add("cp:{p1}:tot", "x", -4)

    assert ops_of(plan) == []


def test_many_increments_of_one_key_are_chunked_into_whole_field_amount_pairs() -> None:
    plan = WritePlan()
    fields = {f"messages_sent\x1fcampaign-{i}": i + 1 for i in range(MAX_ARGS_PER_OP)}
    for name, amount in fields.items():
        plan.add("cp:{p1}:c:60:0", name, amount)

    chunks = [args for name, _, args in ops_of(plan) if name == "HINCRBYS"]

    assert len(chunks) > 1
    assert all(len(args) <= MAX_ARGS_PER_OP for args in chunks)
    written: dict[str, str] = {}
    for args in chunks:
        written.update(pairs_of(args))
    assert written == {name: str(amount) for name, amount in fields.items()}


def test_a_big_sadd_is_chunked_without_losing_or_repeating_members() -> None:
    plan = WritePlan()
    members = [f"event-{i}" for i in range(3 * MAX_ARGS_PER_OP + 7)]
    for member in members:
        plan.remember("cp:{p1}:seen:open:20000", member)

    chunks = [args for name, _, args in ops_of(plan) if name == "SADD"]

    assert len(chunks) == 4
    assert all(len(args) <= MAX_ARGS_PER_OP for args in chunks)
    assert [m for args in chunks for m in args] == members


def test_a_big_first_score_index_is_chunked_into_whole_score_member_pairs() -> None:
    plan = WritePlan()
    members = {f"m{i}": 1_800_000_000 + i for i in range(3 * MAX_ARGS_PER_OP)}
    for member, score in members.items():
        plan.index("cp:{p1}:parked", member, score)

    chunks = [args for name, _, args in ops_of(plan) if name == "ZADDNX"]

    assert len(chunks) > 1
    written: dict[str, int] = {}
    for args in chunks:
        assert len(args) <= MAX_ARGS_PER_OP
        written.update({m: int(s) for s, m in pairs_of(args).items()})
    assert written == members


def test_a_big_replacing_index_is_chunked_into_whole_score_member_pairs() -> None:
    plan = WritePlan()
    members = {f"c{i}": i for i in range(MAX_ARGS_PER_OP + 3)}
    for member, score in members.items():
        plan.index("cp:{p1}:struggling", member, score, replace=True)

    chunks = [args for name, _, args in ops_of(plan) if name == "ZADD"]

    assert len(chunks) > 1
    written: dict[str, int] = {}
    for args in chunks:
        assert len(args) <= MAX_ARGS_PER_OP
        written.update({m: int(s) for s, m in pairs_of(args).items()})
    assert written == members


def test_a_big_hset_is_chunked_into_whole_field_value_pairs() -> None:
    plan = WritePlan()
    values = {f"m:msg-{i}": f"dims-{i}" for i in range(MAX_ARGS_PER_OP)}
    plan.set_fields("cp:{p1}:cust:c1", values)

    chunks = [args for name, _, args in ops_of(plan) if name == "HSET"]

    assert len(chunks) > 1
    written: dict[str, str] = {}
    for args in chunks:
        assert len(args) <= MAX_ARGS_PER_OP
        written.update(pairs_of(args))
    assert written == values


def test_an_index_keeps_the_first_score_and_a_replacing_index_the_latest() -> None:
    plan = WritePlan()
    plan.index("z1", "m1", 10)
    plan.index("z1", "m1", 5)
    plan.index("z2", "c1", 10, replace=True)
    plan.index("z2", "c1", 5, replace=True)

    zadds = {(name, key): args for name, key, args in ops_of(plan) if name.startswith("ZADD")}

    assert zadds == {("ZADDNX", "z1"): ["10", "m1"], ("ZADD", "z2"): ["5", "c1"]}


def test_unindexing_cancels_a_replacing_index_of_the_same_batch() -> None:
    plan = WritePlan()
    plan.index("struggling", "c1", 10, replace=True)
    plan.unindex("struggling", "c1")

    names = [name for name, key, _ in ops_of(plan) if key == "struggling"]

    assert names == ["ZREM"]


def test_deletes_come_before_pushes_so_a_consumed_park_list_can_be_refilled() -> None:
    plan = WritePlan()
    plan.push("cp:{p1}:park:m1", "open\x1e{}")
    plan.drop("cp:{p1}:park:m1")

    names = [name for name, key, _ in ops_of(plan) if key == "cp:{p1}:park:m1"]

    assert names.index("DEL") < names.index("RPUSH")


def test_a_key_gets_one_expire_with_the_longest_ttl_asked() -> None:
    plan = WritePlan()
    plan.expire_in("k", 60)
    plan.expire_in("k", 3600)
    plan.expire_in("k", 120)

    expires = [args for name, key, args in ops_of(plan) if name == "EXPIRE" and key == "k"]

    assert expires == [["3600"]]


def test_keep_max_sends_the_largest_value_of_the_batch() -> None:
    plan = WritePlan()
    for value in (5, 9, 7):
        plan.keep_max("tot", "last_event_s\x1fopen", value)

    hmax = [args for name, _, args in ops_of(plan) if name == "HMAX"]

    assert hmax == [["last_event_s\x1fopen", "9"]]


def test_every_planned_effect_appears_in_the_ops_and_travels_as_json() -> None:
    plan = WritePlan()
    plan.add("tot", "a")
    plan.set_fields("m", {"t": "1"})
    plan.keep_max("tot", "last", 7)
    plan.remember("seen", "e1")
    plan.count_unique("hll", "v1")
    plan.push("park", 'open\x1e{"event_id": "é"}')
    plan.index("parked", "m1", 1)
    plan.index("struggling", "c1", 2, replace=True)
    plan.unindex("parked", "m2")
    plan.trim_before("struggling", 100)
    plan.drop("old")
    plan.expire_in("m", 10)

    names = Counter(name for name, _, _ in ops_of(plan))

    assert set(names) == {
        "HINCRBYS",
        "HSET",
        "HMAX",
        "SADD",
        "PFADD",
        "RPUSH",
        "ZADDNX",
        "ZADD",
        "ZREM",
        "ZREMRANGEBYSCORE",
        "DEL",
        "EXPIRE",
    }
    keys, encoded = plan.encode(first=3)
    ops = orjson.loads(encoded)
    assert [[name, keys[at - 3], *args] for name, at, *args in ops] == plan.operations()
    assert len(set(keys)) == len(keys)
    assert not plan.is_empty()


def test_an_empty_plan_has_no_ops() -> None:
    assert WritePlan().is_empty()
    assert WritePlan().operations() == []
