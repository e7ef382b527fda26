"""What a fault run did and found, printed the same way by the tests and the long run."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from tests.faults.generator import Kind, Log
from tests.faults.oracle import Truth


@dataclass(frozen=True)
class FaultRecord:
    at_s: float
    """Seconds from the start of the run."""
    took_s: float
    kind: str
    detail: str


@dataclass
class Report:
    config_line: str
    seed: int
    faults: list[FaultRecord] = field(default_factory=list)
    published: Counter[str] = field(default_factory=Counter)
    in_kafka: int = 0
    poison_in_kafka: int = 0
    resends: int = 0
    differences: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    checked_samples: int = 0
    scraped_samples: int = 0
    scraped_nonzero: int = 0
    setup_s: float = 0.0
    publish_s: float = 0.0
    drain_s: float = 0.0
    duration_s: float = 0.0

    def record_log(self, log: Log, truth: Truth) -> None:
        for kind in Kind:
            self.published[kind.value] = log.count(kind)
        self.in_kafka = sum(truth.received.values())
        self.poison_in_kafka = len(truth.poison)
        self.checked_samples = len(truth.samples)

    def fault_counts(self) -> Counter[str]:
        return Counter(f.kind for f in self.faults)

    def render(self) -> str:
        p = self.published
        lines = [
            f"collectpulse fault run: {self.config_line}",
            f"duration: {self.duration_s:.1f} s (setup {self.setup_s:.1f} s, publishing "
            f"{self.publish_s:.1f} s, drain and checks {self.drain_s:.1f} s)",
            f"published: {sum(p.values())} records = {p['valid']} valid + {p['duplicate']} "
            f"upstream duplicates + {p['poison']} poison; records in Kafka after the run: "
            f"{self.in_kafka} (sends repeated while the broker was down: {self.resends})",
            f"samples compared: {self.checked_samples} expected by the oracle, "
            f"{self.scraped_samples} count samples on /metrics ({self.scraped_nonzero} non-zero)",
            "faults injected (seconds from start, kind, how long it took):",
        ]
        for f in self.faults:
            lines.append(f"  {f.at_s:7.1f}s  {f.kind:<12} {f.took_s:5.1f}s  {f.detail}")
        counts = ", ".join(f"{k} x{n}" for k, n in sorted(self.fault_counts().items()))
        lines.append(f"fault totals: {counts or 'none'}")
        if self.notes:
            lines.append("notes:")
            lines.extend(f"  {n}" for n in self.notes)
        lines.append(f"differences: {len(self.differences)}")
        lines.extend(f"  {d}" for d in self.differences)
        return "\n".join(lines)
