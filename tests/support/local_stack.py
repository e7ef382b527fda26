"""A local stack of a test's own: free ports and a fresh state dir under ``.local``."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from collectpulse.localstack.settings import LocalStackSettings
from tests.support.processes import free_port

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def own_stack_settings(prefix: str, **fields: Any) -> Iterator[LocalStackSettings]:
    """Where to start servers that neither a developer's `make run` stack nor another
    test session is in the way of (``fields``: other LocalStackSettings); the state dir
    is removed on exit, so stop the servers first; ``fields`` may name other ports."""
    (ROOT / ".local").mkdir(exist_ok=True)
    state = Path(tempfile.mkdtemp(prefix=prefix, dir=ROOT / ".local"))
    try:
        ports = {
            "kafka_port": free_port(),
            "kafka_controller_port": free_port(),
            "redis_port": free_port(),
        }
        yield LocalStackSettings(root=ROOT, state_dir=state, **{**ports, **fields})
    finally:
        shutil.rmtree(state, ignore_errors=True)
