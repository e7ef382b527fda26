"""The seven collectpulse dashboards, one module each, in the order the link menu lists them."""

from __future__ import annotations

from collectpulse.dashboards.boards import (
    agents,
    deliverability,
    experiments,
    funnel,
    landing_payments,
    pipeline,
    promises,
)
from collectpulse.dashboards.model import Board

BOARDS: tuple[Board, ...] = (
    funnel.BOARD,
    deliverability.BOARD,
    landing_payments.BOARD,
    promises.BOARD,
    agents.BOARD,
    experiments.BOARD,
    pipeline.BOARD,
)

__all__ = ["BOARDS"]
