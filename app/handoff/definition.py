"""A pipeline definition as plain data, validated through the transitions library."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from app.handoff import requirements
from app.handoff.errors import InvalidPipelineError

KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
# `enter` names the event written when an account enters a pipeline; the others are
# attributes the transitions library binds on its model.
RESERVED_TRIGGERS = frozenset({"enter", "state", "trigger", "may_trigger", "gate_open"})


class StageKind(StrEnum):
    OPEN = "OPEN"
    WON = "WON"
    LOST = "LOST"


@dataclass(frozen=True, slots=True)
class StageDef:
    key: str
    name: str
    kind: StageKind = StageKind.OPEN
    necessary: tuple[str, ...] = ()
    recommended: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": self.name,
            "kind": self.kind.value,
            "necessary": list(self.necessary),
            "recommended": list(self.recommended),
        }


@dataclass(frozen=True, slots=True)
class TransitionDef:
    trigger: str
    sources: tuple[str, ...]
    dest: str
    handoff: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "trigger": self.trigger,
            "sources": list(self.sources),
            "dest": self.dest,
            "handoff": self.handoff,
        }


@dataclass(frozen=True, slots=True)
class PipelineDef:
    stages: tuple[StageDef, ...]
    transitions: tuple[TransitionDef, ...]
    _index: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._index.update({stage.key: i for i, stage in enumerate(self.stages)})

    @classmethod
    def from_json(
        cls, stages: Sequence[dict[str, Any]], transitions: Sequence[dict[str, Any]]
    ) -> PipelineDef:
        return cls(
            stages=tuple(
                StageDef(
                    key=s["key"],
                    name=s["name"],
                    kind=StageKind(s["kind"]),
                    necessary=tuple(s["necessary"]),
                    recommended=tuple(s["recommended"]),
                )
                for s in stages
            ),
            transitions=tuple(
                TransitionDef(t["trigger"], tuple(t["sources"]), t["dest"], bool(t["handoff"]))
                for t in transitions
            ),
        )

    def stage(self, key: str) -> StageDef:
        return self.stages[self._index[key]]

    def transition(self, trigger: str, source: str) -> TransitionDef | None:
        for transition in self.transitions:
            if transition.trigger == trigger and source in transition.sources:
                return transition
        return None


def check_shape(definition: PipelineDef) -> None:
    """What the library does not check itself: names, duplicates, requirement syntax."""
    problems: list[str] = []
    if not definition.stages:
        problems.append("a pipeline needs at least one stage")
    seen: set[str] = set()
    for stage in definition.stages:
        if not KEY.match(stage.key):
            problems.append(f"stage key {stage.key!r} must be a letter then letters, digits or _")
        if stage.key in seen:
            problems.append(f"stage {stage.key!r} is defined twice")
        seen.add(stage.key)
        if not stage.name.strip():
            problems.append(f"stage {stage.key!r} needs a name")
        for name in (*stage.necessary, *stage.recommended):
            found = requirements.problem(name)
            if found:
                problems.append(found)
    for transition in definition.transitions:
        if not KEY.match(transition.trigger) or transition.trigger in RESERVED_TRIGGERS:
            problems.append(f"trigger {transition.trigger!r} is not a valid trigger name")
        if not transition.sources:
            problems.append(f"trigger {transition.trigger!r} needs at least one source stage")
    if problems:
        raise InvalidPipelineError("; ".join(problems), field="stages")
