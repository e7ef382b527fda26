"""Scrape a real /metrics endpoint over HTTP and look samples up by name and labels."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(url: str, **http: Any) -> Samples:
    """``http``: extra httpx client options, e.g. ``auth`` and ``verify`` for a secured exporter."""
    async with httpx.AsyncClient(timeout=10, **http) as client:
        response = await client.get(url)
    response.raise_for_status()
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def total(samples: Samples, name: str, **labels: str) -> float:
    """Sum of every sample of ``name`` whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


async def wait_for(
    url: str,
    done: Callable[[Samples], bool],
    *,
    timeout_s: float = 90.0,
    processes: Sequence[subprocess.Popen[bytes]] = (),
    **http: Any,
) -> Samples:
    """Scrape until ``done`` holds; on timeout return the last scrape (the test asserts).

    Fails at once when one of ``processes`` (the worker, the exporter) has exited.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    samples: Samples = {}
    while loop.time() < deadline:
        for proc in processes:
            assert proc.poll() is None, f"{proc.args} exited with {proc.returncode}; see its log"
        try:
            samples = await scrape(url, **http)
        except httpx.HTTPError:
            samples = {}
        if done(samples):
            return samples
        await asyncio.sleep(0.5)
    return samples


def as_labels(mapping: Mapping[str, str]) -> frozenset[tuple[str, str]]:
    return frozenset(mapping.items())
