"""The three-broker local Kafka's layout and configs, and the flags that choose it (no JVM)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from collectpulse.cli import build_parser
from collectpulse.localstack import kafka_cluster
from collectpulse.localstack.kafka import LocalStackError
from collectpulse.localstack.settings import LocalStackSettings

ROOT = Path(__file__).resolve().parents[3]


def cfg(tmp_path: Path) -> LocalStackSettings:
    # explicit ports: a developer's COLLECTPULSE_LOCAL_* must not change the expectations
    return LocalStackSettings(
        root=ROOT,
        state_dir=tmp_path,
        kafka_brokers=3,
        kafka_port=19092,
        kafka_controller_port=19093,
    )


def test_three_nodes_on_distinct_ports_with_a_bootstrap_list_of_all_three(tmp_path: Path) -> None:
    nodes = kafka_cluster.nodes(cfg(tmp_path))
    ports = [p for n in nodes for p in (n.port, n.controller_port)]
    assert [n.node_id for n in nodes] == [1, 2, 3]
    assert len(set(ports)) == 6
    assert [n.port for n in nodes] == [19092, 19102, 19112]
    assert kafka_cluster.bootstrap(cfg(tmp_path)).split(",") == [
        f"127.0.0.1:{n.port}" for n in nodes
    ]


def test_every_node_config_replicates_three_ways_and_names_the_whole_quorum(
    tmp_path: Path,
) -> None:
    settings = cfg(tmp_path)
    nodes = kafka_cluster.nodes(settings)
    kafka_cluster._write_configs(settings, nodes)
    voters = "controller.quorum.voters=1@127.0.0.1:19093,2@127.0.0.1:19103,3@127.0.0.1:19113"
    for node in nodes:
        lines = set(node.config.read_text().splitlines())
        assert f"node.id={node.node_id}" in lines
        assert voters in lines
        for wanted in (
            "default.replication.factor=3",
            "min.insync.replicas=2",
            "offsets.topic.replication.factor=3",
            "unclean.leader.election.enable=false",
        ):
            assert wanted in lines, (node.node_id, wanted)
        assert f"log.dirs={node.log_dir}" in lines


def test_the_local_command_takes_one_or_three_brokers_only(
    capsys: pytest.CaptureFixture[str],
) -> None:
    parser = build_parser()
    assert parser.parse_args(["local", "start", "--kafka-brokers", "3"]).kafka_brokers == 3
    assert parser.parse_args(["local", "start"]).kafka_brokers is None
    with pytest.raises(SystemExit) as exit_:
        parser.parse_args(["local", "start", "--kafka-brokers", "2"])
    assert exit_.value.code == 2
    assert "--kafka-brokers" in capsys.readouterr().err


def test_worker_processes_must_be_a_positive_whole_number(
    capsys: pytest.CaptureFixture[str],
) -> None:
    parser = build_parser()
    assert parser.parse_args(["worker", "--processes", "4"]).processes == 4
    assert parser.parse_args(["worker"]).processes == 1
    for bad in ("0", "-1", "two"):
        with pytest.raises(SystemExit) as exit_:
            parser.parse_args(["worker", "--processes", bad])
        assert exit_.value.code == 2
        assert "--processes" in capsys.readouterr().err


def test_a_taken_port_fails_the_start_naming_it_before_any_broker_starts(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        # node 2's controller port is the one we hold; any other process holding one of
        # the other five is named too, and must not hide it
        settings = cfg(tmp_path).model_copy(
            update={"kafka_port": port - 11, "kafka_controller_port": port - 10}
        )
        with pytest.raises(
            LocalStackError, match=rf"in use by another process: .*\b{port} \(node 2 controller\)"
        ):
            kafka_cluster.start(settings)
    assert not any(tmp_path.rglob("*.pid")), "no broker may have been spawned"
