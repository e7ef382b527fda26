"""Run ``collectpulse topics check|create`` as a user would, and read its table."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

from collectpulse.settings import Settings
from tests.support.processes import settings_env

COMMAND_TIMEOUT_S = 120.0


def topics_command(settings: Settings, action: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "collectpulse.cli", "topics", action],
        env=settings_env(settings),
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
        check=False,
    )


def statuses(stdout: str) -> Counter[str]:
    """Status (the table's last column) -> topics; a topic name may contain any word."""
    return Counter(line.split()[-1] for line in stdout.splitlines() if line.strip())
