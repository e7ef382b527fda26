"""The ``collectpulse`` command: worker, exporter, gateway, simulate, publish, topics, schemas,
local stack, run."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from collectpulse.envcheck import environment_warnings
from collectpulse.localstack.settings import LocalStackSettings
from collectpulse.settings import Settings, SettingsError, load_settings

USAGE_ERROR = 2
"""Exit code for a bad flag or setting (argparse's own)."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a bad flag is one line on stderr (naming the flag) and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(USAGE_ERROR, f"{self.prog}: {message} (see {self.prog} --help)\n")


log = logging.getLogger("collectpulse")


def _settings() -> Settings:
    for warning in environment_warnings():
        log.warning("%s", warning)
    return load_settings(Settings)


def _check_credentials(settings: Settings, *, redis: bool = True, group: bool = False) -> None:
    """Stop now on refused credentials or certificates, or a Kafka user without ACLs for
    our topics (raises ``CredentialsError``); an unreachable server is only logged: each
    command has its own retry behaviour."""
    from collectpulse.events.models import Topic
    from collectpulse.preflight import check_credentials, faust_leader_topic

    topics = [settings.topic(t.value) for t in Topic]
    if group:
        topics.append(faust_leader_topic(settings.consumer_group))
    check = check_credentials(
        settings,
        kafka_topics=topics,
        kafka_group=settings.consumer_group if group else None,
        redis=redis,
    )
    with asyncio.Runner() as runner:
        runner.get_loop().set_exception_handler(_unretrieved_is_reported)
        problems = runner.run(check)
    for problem in problems:
        log.warning("start-up check: %s", problem)


def _unretrieved_is_reported(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """aiokafka leaves the failed TLS handshake's future unread; when it is collected,
    asyncio would log it after (so below) the one-line error the check reports."""
    if str(context.get("message", "")).startswith("Future exception was never retrieved"):
        log.debug("start-up check: %s", context.get("exception"))
        return
    loop.default_exception_handler(context)


def cmd_worker(args: argparse.Namespace) -> int:
    settings = _settings()
    for name in settings.unsafe_test_switches:
        print(
            f"collectpulse worker: {name} is on: exactly-once is broken on purpose "
            "(test-only; never set it in production)",
            file=sys.stderr,
        )
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SettingsError(
            f"COLLECTPULSE_DATA_DIR: cannot create {settings.data_dir}: {exc.strerror}"
        ) from None
    if args.processes > 1:
        from collectpulse.workerpool import run_workers

        return run_workers(args.processes, args.loglevel, settings.data_dir)
    # before importing Faust: a refused password fails fast
    _check_credentials(settings, group=True)
    from collectpulse.stream.app import create_app, prepare_topics

    problem = asyncio.run(prepare_topics(settings))
    if problem:
        servers = settings.kafka_bootstrap_servers
        print(
            f"collectpulse worker: cannot prepare the topics on {servers} "
            f"(COLLECTPULSE_KAFKA_BOOTSTRAP_SERVERS): {problem}",
            file=sys.stderr,
        )
        return 2
    app = create_app(settings)
    quiet_outage_logs()
    tune_gc()
    _use_uvloop()
    # Faust's own worker command: rebalancing, signals, graceful shutdown.
    sys.argv = ["collectpulse-worker", "worker", "-l", args.loglevel, "--without-web"]
    app.main()
    return 0


def quiet_outage_logs() -> None:
    """While Kafka is down: no busy metadata loop, and aiokafka's repeats once a minute."""
    from collectpulse.kafka import backoff
    from collectpulse.logrepeats import quiet_repeats

    backoff.install()
    quiet_repeats("aiokafka")


GC_YOUNG_THRESHOLD = 50_000
"""Allocations between young collections (CPython's default is 700), see ``tune_gc``."""


def tune_gc() -> None:
    """Set the worker's collector up for batches of thousands of records in flight.

    Everything imported and built at start-up lives as long as the process, so it
    is frozen out of the collector's generations. The records of a take group
    (up to ~100k) then live for seconds: at CPython's default young threshold
    they are promoted quickly, and each time the old generation grows by a
    quarter a full collection walks all of it. In a 200k-event backlog that was
    18-19 full collections of ~60 ms, 1.5 s of GC in all (~20 % of the drain);
    with 50,000 it was one, and 0.4 s in all (docs/BENCHMARKS.md, "GC").
    Young collections then pause for ~15 ms, far below the fetch wait.
    """
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, older, oldest)


def _use_uvloop() -> None:
    """Run the worker's loop on uvloop when installed (measured +5-15%, docs/HOT_PATH.md).

    Set as the policy before Faust creates its loop: Faust's ``-L uvloop`` did not
    take effect when passed through ``app.main()`` (profiles still showed asyncio's
    selector loop).
    """
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def cmd_exporter(args: argparse.Namespace) -> int:
    from collectpulse.exporter.http import metrics_url, serve
    from collectpulse.logrepeats import quiet_repeats

    settings = _settings()
    url = metrics_url(settings)  # reads the web config file: a bad one stops here
    _check_credentials(settings)
    quiet_repeats("aiokafka")
    address = f"{settings.http_host}:{settings.http_port}"

    async def main() -> None:
        try:
            runner = await serve(settings)
        except OSError as exc:
            raise SettingsError(
                f"COLLECTPULSE_HTTP_HOST/COLLECTPULSE_HTTP_PORT: cannot listen on {address}: "
                f"{exc.strerror or exc}"
            ) from None
        print(f"collectpulse exporter: {url}", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
    return 0


def cmd_gateway(args: argparse.Namespace) -> int:
    from collectpulse.gateway.server import gateway_url, serve, web_config

    settings = _settings()
    config = web_config(settings)  # a bad web config file stops here
    quiet_outage_logs()
    address = f"{settings.gateway_host}:{settings.gateway_port}"

    async def main() -> None:
        try:
            runner, built = await serve(settings, config)
        except OSError as exc:
            raise SettingsError(
                f"COLLECTPULSE_GATEWAY_HOST/COLLECTPULSE_GATEWAY_PORT: cannot listen on "
                f"{address}: {exc.strerror or exc}"
            ) from None
        print(f"collectpulse gateway: {gateway_url(settings, config)}/webhooks/", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        try:
            await stop.wait()
        finally:
            await runner.cleanup()  # requests in flight finish first
            await built.close()

    _use_uvloop()
    asyncio.run(main())
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from collectpulse.simulate.cli import run_simulate

    settings = _settings()
    _check_credentials(settings, redis=False)
    return int(run_simulate(settings, args))


def cmd_publish(args: argparse.Namespace) -> int:
    from collectpulse.publish.command import run_publish

    settings = _settings()
    _check_credentials(settings, redis=False)
    return run_publish(settings, args)


def cmd_topics(args: argparse.Namespace) -> int:
    from collectpulse.kafka.topic_command import run_topics

    settings = _settings()
    _check_credentials(settings, redis=False)
    return run_topics(settings, args.action)


def cmd_schemas(args: argparse.Namespace) -> int:
    from collectpulse.events.schema_export import export_schemas, schema_drift

    out = Path(args.out)
    if args.action == "export":
        for path in export_schemas(out):
            print(path)
        return 0
    drift = schema_drift(out)
    for problem in drift:
        print(problem, file=sys.stderr)
    return 1 if drift else 0


def cmd_top(args: argparse.Namespace) -> int:
    from collectpulse.ui.top import run_top

    settings = _settings()
    _check_credentials(settings)
    return run_top(settings)


def cmd_local(args: argparse.Namespace) -> int:
    from collectpulse.localstack import stack

    cfg = load_settings(LocalStackSettings)
    if args.kafka_brokers is not None:
        cfg = cfg.model_copy(update={"kafka_brokers": args.kafka_brokers})
    return stack.command(cfg, args.action, with_redis_cluster=args.redis_cluster)


def cmd_run(args: argparse.Namespace) -> int:
    from collectpulse.localstack.run import run_everything

    _settings()  # the children read the same variables: refuse bad ones before starting
    return run_everything(
        load_settings(LocalStackSettings),
        rate=args.rate,
        duration_s=args.duration,
        scenario=args.scenario,
    )


def build_parser() -> argparse.ArgumentParser:
    from collectpulse.publish.command import add_arguments as add_publish_arguments
    from collectpulse.simulate.cli import add_arguments, positive_float
    from collectpulse.simulate.named import DEFAULT_NAME, SCENARIOS
    from collectpulse.workerpool import process_count

    parser = ArgumentParser(prog="collectpulse", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    worker = sub.add_parser("worker", help="run the Faust worker (consumes the canonical topics)")
    worker.add_argument(
        "-l", "--loglevel", default="info", choices=["debug", "info", "warn", "error"]
    )
    worker.add_argument(
        "--processes",
        type=process_count,
        default=1,
        help="run N worker processes in one consumer group (one core each; default 1)",
    )
    worker.set_defaults(func=cmd_worker)

    exporter = sub.add_parser("exporter", help="serve /metrics, /healthz, /readyz from Redis")
    exporter.set_defaults(func=cmd_exporter)

    top = sub.add_parser("top", help="headline KPIs and pipeline health in the terminal")
    top.set_defaults(func=cmd_top)

    gateway = sub.add_parser(
        "gateway", help="receive provider webhooks, verify them, publish to raw.<provider>"
    )
    gateway.set_defaults(func=cmd_gateway)

    simulate = sub.add_parser("simulate", help="publish a realistic event stream to Kafka")
    add_arguments(simulate)
    simulate.set_defaults(func=cmd_simulate)

    publish = sub.add_parser(
        "publish", help="validate events from a file or stdin and publish them with their key"
    )
    add_publish_arguments(publish)
    publish.set_defaults(func=cmd_publish)

    topics = sub.add_parser(
        "topics", help="create (or check) every topic the worker reads or writes"
    )
    topics.add_argument("action", choices=["create", "check"])
    topics.set_defaults(func=cmd_topics)

    schemas = sub.add_parser("schemas", help="export or check the JSON Schemas under schemas/")
    schemas.add_argument("action", choices=["export", "check"])
    schemas.add_argument("--out", default="schemas")
    schemas.set_defaults(func=cmd_schemas)

    local = sub.add_parser("local", help="the local Kafka + Redis for development and tests")
    local.add_argument(
        "action",
        choices=["start", "stop", "status", "reset"],
        help="reset stops both and deletes their data, the worker state and the logs",
    )
    local.add_argument(
        "--redis-cluster",
        action="store_true",
        help="start also a Redis Cluster: 3 masters + 3 replicas (stop stops it too)",
    )
    local.add_argument(
        "--kafka-brokers",
        type=int,
        choices=[1, 3],
        default=None,
        help="3: a KRaft cluster, replication 3, min.insync.replicas 2 "
        "(default: COLLECTPULSE_LOCAL_KAFKA_BROKERS or 1)",
    )
    local.set_defaults(func=cmd_local)

    run = sub.add_parser("run", help="local stack + worker + exporter + simulator, until Ctrl-C")
    run.add_argument(
        "--rate", type=positive_float, default=200.0, help="simulated events per second"
    )
    run.add_argument(
        "--duration", type=positive_float, default=None, help="stop after this many seconds"
    )
    run.add_argument(
        "--scenario",
        choices=list(SCENARIOS),
        default=DEFAULT_NAME,
        help="named demo scenario to simulate (collectpulse simulate --list-scenarios)",
    )
    run.set_defaults(func=cmd_run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    args = build_parser().parse_args(argv)
    from collectpulse.exporter.webconfig import WebConfigError
    from collectpulse.preflight import CredentialsError

    try:
        return int(args.func(args))
    except SettingsError as exc:
        print(f"collectpulse: {exc}", file=sys.stderr)
        return 2
    except (CredentialsError, WebConfigError) as exc:
        print(f"collectpulse {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
