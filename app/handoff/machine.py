"""One `transitions` machine per pipeline definition, built once and shared by every move."""

from __future__ import annotations

from dataclasses import dataclass

from transitions import Machine, MachineError

from app.errors import InvalidTransitionError
from app.handoff.definition import PipelineDef, check_shape
from app.handoff.errors import InvalidPipelineError
from app.models.handoff import Pipeline

_CACHE: dict[tuple[int, int], Compiled] = {}


class _Token:
    """The machine's model for one move: the persisted stage in, the new stage out."""

    def __init__(self, state: str, missing: tuple[str, ...]) -> None:
        self.state = state
        self.missing = missing

    def gate_open(self) -> bool:
        return not self.missing


def build(definition: PipelineDef) -> Machine:
    """A machine for the definition, or INVALID_PIPELINE naming what is wrong."""
    check_shape(definition)
    machine = Machine(
        model=None,
        states=[stage.key for stage in definition.stages],
        initial=definition.stages[0].key,
        auto_transitions=False,
    )
    problems: list[str] = []
    for transition in definition.transitions:
        for stage in (*transition.sources, transition.dest):
            try:
                machine.get_state(stage)
            except ValueError as error:
                problems.append(f"trigger {transition.trigger!r}: {error}")
        try:
            machine.add_transition(
                transition.trigger,
                list(transition.sources),
                transition.dest,
                conditions="gate_open",
            )
        except ValueError as error:
            problems.append(f"trigger {transition.trigger!r}: {error}")
    for name, event in machine.events.items():
        for source, moves in event.transitions.items():
            if len(moves) > 1:
                problems.append(f"trigger {name!r} is defined twice from stage {source!r}")
    if problems:
        raise InvalidPipelineError("; ".join(problems), field="transitions")
    return machine


@dataclass(frozen=True, slots=True)
class Compiled:
    definition: PipelineDef
    machine: Machine


def cached(pipeline_id: int, version: int) -> Compiled | None:
    """The machine of this pipeline version when it is built already (no row needed)."""
    return _CACHE.get((pipeline_id, version))


def compiled(pipeline: Pipeline) -> Compiled:
    """The cached machine of this pipeline version; a redefinition bumps the version."""
    key = (pipeline.id, pipeline.version)
    found = _CACHE.get(key)
    if found is None:
        for stale in [k for k in _CACHE if k[0] == pipeline.id]:
            del _CACHE[stale]
        definition = PipelineDef.from_json(pipeline.stages, pipeline.transitions)
        found = _CACHE[key] = Compiled(definition, build(definition))
    return found


def forget() -> None:
    """Drop every cached machine: for a process that moves to another database (tests), where
    the same pipeline id and version may hold another definition."""
    _CACHE.clear()


def fire(machine: Machine, *, stage: str, trigger: str, missing: tuple[str, ...]) -> str | None:
    """Fire trigger from stage: the new stage, or None when the gate (missing) holds it back.

    Synchronous on purpose: nothing else can touch the shared machine between add and remove.
    """
    if trigger not in machine.events:
        raise InvalidTransitionError(f"Unknown trigger {trigger!r}.", field="trigger")
    token = _Token(state=stage, missing=missing)
    machine.add_model(token, initial=stage)
    try:
        moved = machine.events[trigger].trigger(token)
    except MachineError:
        raise InvalidTransitionError(
            f"Cannot {trigger} from stage {stage}.", field="trigger"
        ) from None
    finally:
        machine.remove_model(token)
    return token.state if moved else None
