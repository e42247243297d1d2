"""The machine is built once per pipeline version and fires moves behind the gate."""

from __future__ import annotations

import pytest

from app.errors import InvalidTransitionError
from app.handoff import machine
from app.handoff.definition import PipelineDef, StageDef, TransitionDef
from app.handoff.errors import InvalidPipelineError
from app.models.handoff import Pipeline

STAGES = (StageDef("A", "A"), StageDef("B", "B", necessary=("field:industry",)))
MOVES = (TransitionDef("go", ("A",), "B"), TransitionDef("back", ("B",), "A"))


def _pipeline(version: int, moves: tuple[TransitionDef, ...] = MOVES) -> Pipeline:
    return Pipeline(
        id=99,
        key="p",
        name="P",
        version=version,
        stages=[stage.as_json() for stage in STAGES],
        transitions=[move.as_json() for move in moves],
    )


def test_machine_is_cached_per_version_and_rebuilt_on_change() -> None:
    first = machine.compiled(_pipeline(1))
    assert machine.compiled(_pipeline(1)) is first
    changed = machine.compiled(_pipeline(2, MOVES[:1]))
    assert changed is not first
    assert set(changed.machine.events) == {"go"}


def test_fire_moves_blocks_and_refuses() -> None:
    built = machine.compiled(_pipeline(1)).machine
    assert machine.fire(built, stage="A", trigger="go", missing=()) == "B"
    assert machine.fire(built, stage="A", trigger="go", missing=("field:industry",)) is None
    with pytest.raises(InvalidTransitionError):
        machine.fire(built, stage="B", trigger="go", missing=())
    with pytest.raises(InvalidTransitionError):
        machine.fire(built, stage="A", trigger="fly", missing=())
    assert built.models == []


@pytest.mark.parametrize(
    ("stages", "moves", "message"),
    [
        ((), (), "at least one stage"),
        (STAGES, (TransitionDef("go", ("A",), "Z"),), "State 'Z' is not a registered state"),
        (STAGES, (TransitionDef("go", ("Q",), "B"),), "State 'Q' is not a registered state"),
        (
            STAGES,
            (TransitionDef("go", ("A",), "B"), TransitionDef("go", ("A", "B"), "A")),
            "trigger 'go' is defined twice from stage 'A'",
        ),
        ((StageDef("A", "A"), StageDef("A", "Again")), (), "stage 'A' is defined twice"),
        ((StageDef("A", "A", recommended=("field:shoe_size",)),), (), "unknown account field"),
        ((StageDef("A", "A", necessary=("activity_within:0",)),), (), "number of days"),
        ((StageDef("A", "A", necessary=("assignment:CHEF",)),), (), "unknown manager type"),
        ((StageDef("A", "A", necessary=("plan:draft",)),), (), "unknown plan requirement"),
        ((StageDef("A", "A"),), (TransitionDef("enter", ("A",), "A"),), "not a valid trigger"),
    ],
)
def test_invalid_definitions_say_what_is_wrong(
    stages: tuple[StageDef, ...], moves: tuple[TransitionDef, ...], message: str
) -> None:
    with pytest.raises(InvalidPipelineError) as raised:
        machine.build(PipelineDef(stages=stages, transitions=moves))
    assert message in raised.value.message
