"""Strawberry's input hooks: field names and a faster way to build an input object.

`StrawberryObjectDefinition.from_input` and `InputContext` live in strawberry's private
`strawberry.types` modules (0.341); the batch tests (tests/activities/, tests/accounts/) fail
when they drift.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from strawberry.types.arguments import InputContext
from strawberry.types.base import get_object_definition
from strawberry.utils.str_converters import to_camel_case

Build = Callable[[type, Mapping[str, Any]], Any]


def camel(name: str) -> str:
    """The GraphQL name strawberry gives a Python field name."""
    return to_camel_case(name)


def input_fields(cls: type) -> tuple[tuple[str, str], ...]:
    """(Python name, GraphQL name) of every field of a strawberry input."""
    definition = get_object_definition(cls, strict=True)
    return tuple((f.python_name, to_camel_case(f.python_name)) for f in definition.fields)


def build_input_with(cls: type, build: Build) -> None:
    """Build `cls` from the mapping graphql-core coerced with `build` instead of strawberry's
    generic field-by-field conversion (which costs more than a batch's work)."""

    def from_input(target: type, value: Mapping[str, Any], context: InputContext) -> Any:
        return build(target, value)

    get_object_definition(cls, strict=True).from_input = from_input
