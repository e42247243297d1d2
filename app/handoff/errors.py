from __future__ import annotations

from collections.abc import Sequence

from app.errors import AppError


class InvalidPipelineError(AppError):
    code = "INVALID_PIPELINE"


class AlreadyInPipelineError(AppError):
    code = "ALREADY_IN_PIPELINE"


class HandoffReasonRequiredError(AppError):
    code = "HANDOFF_REASON_REQUIRED"


class HandoffAlreadyAcceptedError(AppError):
    code = "HANDOFF_ALREADY_ACCEPTED"


class GateBlockedError(AppError):
    """Necessary requirements of the destination stage are missing; `missing` is in stage order."""

    code = "GATE_BLOCKED"

    def __init__(self, stage: str, missing: Sequence[str]) -> None:
        super().__init__(f"Cannot enter {stage}: missing {', '.join(missing)}.", field="trigger")
        self.missing = list(missing)
