"""The handoff feature's services, in one namespace for the callers (schema, CLI, tests).

pipelines.py defines pipelines and enters accounts, moves.py moves entries through their
gates (statements.py holds a move's statements), handoffs.py accepts handoffs.
"""

from __future__ import annotations

from app.handoff.handoffs import accept_handoff
from app.handoff.moves import TEXT_LIMIT, Move, MoveInput, transition_account
from app.handoff.pipelines import (
    ENTER,
    define_pipeline,
    enter_default_pipeline,
    enter_pipeline,
    get_pipeline,
)

__all__ = [
    "ENTER",
    "TEXT_LIMIT",
    "Move",
    "MoveInput",
    "accept_handoff",
    "define_pipeline",
    "enter_default_pipeline",
    "enter_pipeline",
    "get_pipeline",
    "transition_account",
]
