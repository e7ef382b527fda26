"""Webhook gateway throughput and latency over loopback, against aiohttp's bare hello world.

A script, not a test. It starts a private Kafka + Redis (or uses ``--bootstrap`` /
``--redis``), then, alternately and ``--rounds`` times each, three servers in their
own process: aiohttp's bare hello world (reads the body, answers ``ok``), and the
gateway (``collectpulse.gateway.server.build``, the same app ``collectpulse gateway``
serves; the SNS certificate is served from memory) taking signed SendGrid batches,
then single signed SES notifications. Each case is measured twice:

* **max**: ``--concurrency`` clients post in a closed loop for ``--seconds``:
  requests/s, accepted events/s, p50/p99 response time, and the server's CPU per
  request (its /proc utime + stime over the run); ``per core`` = requests per
  server CPU-second.
* **half**: an open loop at half the case's own max rate (requests started on a fixed
  schedule, so a slow answer cannot slow the offered load): p50/p99 at that load.

    .venv/bin/python bench/gateway.py                  # 2 rounds, 10 s per phase
    .venv/bin/python bench/gateway.py --rounds 3 --seconds 15 --batch 50 --json
    .venv/bin/python bench/gateway.py --rounds 1 --profile .local/bench-gw   # cProfile files

Goal (issue #16): gateway per-core rate >= 0.5x hello world's, p99 < 50 ms at half load.
The load generator shares the machine (and its cores) with the server under test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from tests.support.processes import free_port, settings_env  # noqa: E402
from tests.support.webhook_signing import (  # noqa: E402
    SNS_TOPIC_ARN,
    make_sendgrid_key,
    make_sns_cert,
    sendgrid_batch,
    ses_event,
    ses_notification,
    sign_sendgrid,
    sign_ses,
)

from collectpulse.localstack.settings import LocalStackSettings  # noqa: E402
from collectpulse.settings import Settings  # noqa: E402

Request = tuple[str, bytes, dict[str, str], int]
"""(path, body, headers, events in the body)"""


@dataclass
class Result:
    case: str
    phase: str
    requests: int
    failed: int
    seconds: float
    rps: float
    events_per_s: float
    p50_ms: float
    p99_ms: float
    cpu_ms_per_request: float
    per_core_rps: float


# ------------------------------------------------------------------ servers (child processes)


def _loop() -> None:
    """The servers run on uvloop when installed, as ``collectpulse gateway`` does."""
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def serve_hello(port: int) -> None:
    from aiohttp import web

    _loop()

    async def hello(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(text="ok\n")

    app = web.Application(client_max_size=1_048_576)
    app.router.add_post("/{tail:.*}", hello)
    app.router.add_get("/healthz", hello)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


def serve_gateway(cert_url: str, cert_file: str) -> None:
    from aiohttp import web
    from tests.support.webhook_signing import StaticCerts

    from collectpulse.gateway.server import build
    from collectpulse.settings import load_settings

    async def no_confirm(url: str) -> None:
        return None

    _loop()
    settings = load_settings(Settings)
    certs = StaticCerts({cert_url: Path(cert_file).read_bytes()})
    built = build(settings, certs=certs, confirm=no_confirm)

    async def close(app: web.Application) -> None:
        await built.close()

    built.app.on_cleanup.append(close)
    web.run_app(
        built.app,
        host="127.0.0.1",
        port=settings.gateway_port,
        access_log=None,
        print=None,
    )


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ------------------------------------------------------------------ load


async def _post(
    session: aiohttp.ClientSession, base: str, request: Request, latencies: list[float]
) -> tuple[bool, int]:
    path, body, headers, events = request
    started = time.perf_counter()
    try:
        async with session.post(base + path, data=body, headers=headers) as response:
            await response.read()
            ok = response.status == 200
    except aiohttp.ClientError:
        ok = False
    latencies.append(time.perf_counter() - started)
    return ok, events if ok else 0


async def closed_loop(
    base: str, requests: list[Request], concurrency: int, seconds: float
) -> tuple[list[float], int, int, float]:
    latencies: list[float] = []
    counts = {"failed": 0, "events": 0}
    stop_at = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def client(offset: int) -> None:
            i = offset
            while time.perf_counter() < stop_at:
                ok, events = await _post(session, base, requests[i % len(requests)], latencies)
                counts["failed"] += not ok
                counts["events"] += events
                i += concurrency

        started = time.perf_counter()
        await asyncio.gather(*(client(c) for c in range(concurrency)))
        elapsed = time.perf_counter() - started
    return latencies, counts["failed"], counts["events"], elapsed


async def open_loop(
    base: str, requests: list[Request], rate: float, seconds: float
) -> tuple[list[float], int, int, float]:
    latencies: list[float] = []
    outcomes: list[tuple[bool, int]] = []
    total = max(1, int(rate * seconds))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

        async def one(i: int) -> None:
            outcomes.append(await _post(session, base, requests[i % len(requests)], latencies))

        started = time.perf_counter()
        tasks = []
        for i in range(total):
            delay = started + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - started
    failed = sum(not ok for ok, _ in outcomes)
    return latencies, failed, sum(e for _, e in outcomes), elapsed


def _result(case: str, phase: str, run: tuple[list[float], int, int, float], cpu: float) -> Result:
    latencies, failed, events, elapsed = run
    ordered = sorted(latencies)
    n = len(ordered)
    return Result(
        case=case,
        phase=phase,
        requests=n,
        failed=failed,
        seconds=round(elapsed, 2),
        rps=round(n / elapsed, 1),
        events_per_s=round(events / elapsed, 1),
        p50_ms=round(statistics.median(ordered) * 1000, 2),
        p99_ms=round(ordered[min(n - 1, int(n * 0.99))] * 1000, 2),
        cpu_ms_per_request=round(cpu / n * 1000, 3),
        per_core_rps=round(n / cpu, 1) if cpu else 0.0,
    )


# ------------------------------------------------------------------ orchestration


def _wait_ready(url: str, proc: subprocess.Popen[bytes], timeout_s: float = 60) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} never answered 200")


def run_case(
    case: str, argv: list[str], env: dict[str, str], ready_url: str, base: str,
    requests: list[Request], args: argparse.Namespace,
) -> list[Result]:  # fmt: skip
    profile = []
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
        profile = ["-m", "cProfile", "-o", str(args.profile / f"{case}-{time.time_ns()}.prof")]
    proc = subprocess.Popen([sys.executable, *profile, __file__, *argv], env=env)
    try:
        _wait_ready(ready_url, proc)
        asyncio.run(closed_loop(base, requests, args.concurrency, 1.0))  # warm-up
        before = cpu_s(proc.pid)
        run = asyncio.run(closed_loop(base, requests, args.concurrency, args.seconds))
        best = _result(case, "max", run, cpu_s(proc.pid) - before)
        before = cpu_s(proc.pid)
        run = asyncio.run(open_loop(base, requests, best.rps / 2, args.seconds))
        half = _result(case, "half", run, cpu_s(proc.pid) - before)
        return [best, half]
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--batch", type=int, default=20, help="events per SendGrid batch")
    parser.add_argument("--bootstrap", help="an already running Kafka (host:port)")
    parser.add_argument("--redis", help="an already running Redis (redis://...)")
    parser.add_argument("--json", action="store_true", help="last line: every result as JSON")
    parser.add_argument("--profile", type=Path, help="write each server's cProfile here")
    sub = parser.add_subparsers(dest="serve")
    hello = sub.add_parser("serve-hello")
    hello.add_argument("port", type=int)
    gw = sub.add_parser("serve-gateway")
    gw.add_argument("cert_url")
    gw.add_argument("cert_file")
    args = parser.parse_args()
    if args.serve == "serve-hello":
        serve_hello(args.port)
        return 0
    if args.serve == "serve-gateway":
        serve_gateway(args.cert_url, args.cert_file)
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-gateway-", dir=ROOT / ".local") as tmp:
        return _bench(args, Path(tmp))


def _bench(args: argparse.Namespace, tmp: Path) -> int:
    from tests.support.kafka import create_topics

    from collectpulse.localstack import kafka, redis

    cfg = LocalStackSettings(
        root=ROOT, state_dir=tmp, kafka_port=free_port(),
        kafka_controller_port=free_port(), redis_port=free_port(),
    )  # fmt: skip
    started = not (args.bootstrap and args.redis)
    try:
        bootstrap = args.bootstrap or kafka.start(cfg)
        redis_url = args.redis or redis.start(cfg)
        sg, sns = make_sendgrid_key(), make_sns_cert()
        cert_file = tmp / "sns.pem"
        cert_file.write_bytes(sns.cert_pem)
        run = uuid.uuid4().hex[:8]
        settings = Settings(
            kafka_bootstrap_servers=bootstrap,
            redis_url=redis_url,  # type: ignore[arg-type]
            topic_prefix=f"bench{run}.",
            gateway_port=free_port(),
            gateway_ses_topic_arns=(SNS_TOPIC_ARN,),
            gateway_sendgrid_public_key=sg.public_key_b64,  # type: ignore[arg-type]
            gateway_timestamp_tolerance="1h",
        )
        raw = [settings.topic(f"raw.{p}") for p in ("sendgrid", "ses")]
        asyncio.run(create_topics(settings, extra=raw))
        now = time.time()
        sendgrid_requests: list[Request] = []
        for i in range(500):
            body = sendgrid_batch(*(f"{run}-{i}-{j}" for j in range(args.batch)))
            headers = sign_sendgrid(sg, body, timestamp_s=now)
            sendgrid_requests.append(("/webhooks/sendgrid", body, headers, args.batch))
        ses_requests: list[Request] = [
            (
                "/webhooks/ses",
                sign_ses(ses_notification(ses_event(f"{run}-ses-{i}")), sns, version="2"),
                {"Content-Type": "text/plain; charset=UTF-8"},
                1,
            )
            for i in range(500)
        ]
        env = settings_env(settings, PYTHONPATH=f"{ROOT / 'src'}:{ROOT}")
        gw_base = f"http://127.0.0.1:{settings.gateway_port}"
        hello_port = free_port()
        hello_base = f"http://127.0.0.1:{hello_port}"
        results: list[Result] = []
        for _ in range(args.rounds):
            results += _hello(env, hello_port, hello_base, sendgrid_requests, args)
            for case, requests in (("sendgrid", sendgrid_requests), ("ses", ses_requests)):
                argv = ["serve-gateway", sns.cert_url, str(cert_file)]
                results += run_case(case, argv, env, gw_base + "/readyz", gw_base, requests, args)
            for r in results[-6:]:
                print(_line(r), flush=True)
        _summary(results)
        if args.json:
            print(json.dumps([asdict(r) for r in results]))
        return 0
    finally:
        if started:
            kafka.stop_kafka(cfg)
            redis.stop_redis(cfg)


def _hello(
    env: dict[str, str], port: int, base: str, like: list[Request], args: argparse.Namespace
) -> list[Result]:
    """Hello world takes the same bodies (a SendGrid batch each), so reading them costs alike."""
    requests = [("/hello", body, headers, 0) for _, body, headers, _ in like]
    proc_argv = ["serve-hello", str(port)]
    return run_case("hello", proc_argv, env, base + "/healthz", base, requests, args)


def _line(r: Result) -> str:
    return (
        f"{r.case:9s} {r.phase:4s} {r.rps:8.0f} req/s {r.events_per_s:9.0f} events/s "
        f"p50 {r.p50_ms:6.2f} ms p99 {r.p99_ms:6.2f} ms  cpu {r.cpu_ms_per_request:6.3f} ms/req "
        f"({r.per_core_rps:6.0f} req/s per core) failed {r.failed}"
    )


def _summary(results: list[Result]) -> None:
    def median(case: str, phase: str, field: str) -> float:
        return statistics.median(
            getattr(r, field) for r in results if r.case == case and r.phase == phase
        )

    hello = median("hello", "max", "per_core_rps")
    print(f"\nmedians of {len(results) // 6} rounds; hello world {hello:.0f} req/s per core")
    for case in ("sendgrid", "ses"):
        ratio = median(case, "max", "per_core_rps") / hello
        p99 = median(case, "half", "p99_ms")
        print(
            f"{case:9s} {median(case, 'max', 'events_per_s'):8.0f} events/s max, "
            f"{ratio:.2f}x hello per core (goal >= 0.5), p99 at half load {p99:.1f} ms "
            f"(goal < 50)"
        )


if __name__ == "__main__":
    raise SystemExit(main())
