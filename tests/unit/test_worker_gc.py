"""The worker's collector set-up (``collectpulse.cli.tune_gc``)."""

from __future__ import annotations

import gc

from collectpulse.cli import GC_YOUNG_THRESHOLD, tune_gc


def test_tune_gc_freezes_the_start_up_heap_and_raises_only_the_young_threshold() -> None:
    before = gc.get_threshold()
    try:
        tune_gc()
        assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, before[1], before[2])
        assert gc.get_freeze_count() > 0
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()
