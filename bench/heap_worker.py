"""Run ``collectpulse`` under tracemalloc and keep the heap snapshot of its peak.

``bench/pipeline.py --heap OUT`` starts the worker through this script instead of
``python -m collectpulse.cli``. A daemon thread reads the traced size every
``CP_HEAP_EVERY_S`` seconds (default 0.5) and, whenever it is 2 % above the largest
seen so far, writes a snapshot to ``CP_HEAP_OUT``; the bench then prints the top
allocation sites of the peak's snapshot. tracemalloc slows the worker down and adds
its own memory: read the split, not the totals. A bench tool, not part of the service.

    python bench/heap_worker.py worker -l warn
"""

from __future__ import annotations

import os
import sys
import threading
import time
import tracemalloc


def _watch(out: str, every_s: float) -> None:
    best = 0
    while True:
        time.sleep(every_s)
        current, _ = tracemalloc.get_traced_memory()
        if current > best * 1.02:
            tracemalloc.take_snapshot().dump(out)
            best = current


def main() -> None:
    tracemalloc.start(int(os.environ.get("CP_HEAP_FRAMES", "1")))
    out = os.environ["CP_HEAP_OUT"]
    every_s = float(os.environ.get("CP_HEAP_EVERY_S", "0.5"))
    threading.Thread(target=_watch, args=(out, every_s), daemon=True).start()
    from collectpulse.cli import main as cli_main

    raise SystemExit(cli_main(sys.argv[1:]))


if __name__ == "__main__":
    main()
