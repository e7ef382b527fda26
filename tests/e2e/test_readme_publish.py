"""The README's "From an event to a metric", run as written against a real worker and exporter."""

from __future__ import annotations

import re
import subprocess
import time
import urllib.request
from pathlib import Path

from collectpulse.settings import Settings
from tests.support.processes import settings_env, worker_and_exporter

ROOT = Path(__file__).resolve().parents[2]
SECTION = "## From an event to a metric"


def readme_section() -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    return text[start : end if end != -1 else None]


def readme_commands_and_lines() -> tuple[str, list[str]]:
    """The section's ``sh`` block and the lines of the metrics block it quotes."""
    blocks = re.findall(r"```(\w*)\n(.*?)```", readme_section(), flags=re.DOTALL)
    commands = [body for lang, body in blocks if lang == "sh"]
    quoted = [body for lang, body in blocks if lang == "" and "collectpulse_" in body]
    assert len(commands) == 1 and len(quoted) == 1, f"README section changed shape: {blocks}"
    return commands[0], quoted[0].strip().splitlines()


def as_pattern(quoted_line: str) -> re.Pattern[str]:
    """The README abbreviates some label sets with ``...``: any labels match there."""
    return re.compile("^" + re.escape(quoted_line).replace(r"\.\.\.", "[^}]*") + "$", re.MULTILINE)


def test_as_pattern_reads_the_ellipsis_as_any_labels() -> None:
    pattern = as_pattern('m{...,window="24h"} 1.0')
    assert pattern.search('m{a="x",window="24h"} 1.0')
    assert not pattern.search('m{a="x",window="1h"} 1.0')
    assert not pattern.search('m{a="x",window="24h"} 2.0')


def _scrape(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return str(response.read().decode())
    except OSError:
        return ""


def test_readme_commands_publish_events_that_reach_metrics_as_quoted(
    settings: Settings, tmp_path: Path
) -> None:
    commands, quoted = readme_commands_and_lines()
    patterns = [as_pattern(line) for line in quoted]
    with worker_and_exporter(settings, tmp_path) as (metrics_url, processes):
        result = subprocess.run(
            ["bash", "-e", "-c", commands],
            cwd=ROOT,
            env=settings_env(settings),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        delivery, open_ = settings.topic("delivery"), settings.topic("open")
        assert re.search(
            rf"^line 1: e-1 -> {re.escape(delivery)} partition \d+", result.stdout, re.M
        )
        assert re.search(rf"^line 1: e-2 -> {re.escape(open_)} partition \d+", result.stdout, re.M)
        deadline = time.monotonic() + 90
        missing = quoted
        while missing and time.monotonic() < deadline:
            assert all(p.poll() is None for p in processes), (tmp_path / "worker.log").read_text()
            text = _scrape(metrics_url)
            missing = [line for line, p in zip(quoted, patterns, strict=True) if not p.search(text)]
            if missing:
                time.sleep(0.5)
        names = {line.split("{", 1)[0] for line in missing}
        seen = [line for line in text.splitlines() if line.split("{", 1)[0] in names]
        assert missing == [], f"not in /metrics after 90 s: {missing}; it has: {seen}"
