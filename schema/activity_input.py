"""LogActivityInput values coerced without graphql-core's generic walk.

graphql-core coerces a variable recursively: a depth check over the whole value, then per
item and field a type dispatch, default handling and a leaf call. A LogActivityInput is a
flat object of leaf fields, so the same steps fit in one loop: unknown fields and missing
required ones refuse the item, a null stays null, an absent field takes its default
(null), and each leaf goes through the very method graphql-core calls
(`coerce_input_value`; nothing for a plain `str` where the leaf is String or ID; its answer
for an enum's name, computed once). The answer equals graphql-core's
(tests/activities/test_activity_input.py compares both); an item this loop refuses goes back
to graphql-core, whose messages (validate_input_value) are the ones clients see.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLNonNull,
    GraphQLScalarType,
    GraphQLSchema,
    Undefined,
    coerce_input_value,
    get_nullable_type,
    is_required_input_field,
    validate_input_value,
)

INPUT_TYPE = "LogActivityInput"
_PLAIN_STRINGS = frozenset({"String", "ID"})


class ActivityInputCoercer:
    def __init__(self, schema: GraphQLSchema) -> None:
        found = schema.type_map[INPUT_TYPE]
        assert isinstance(found, GraphQLInputObjectType)
        self.type: GraphQLInputType = GraphQLNonNull(found)
        self.defaults: dict[str, Any] = {}
        self.required: frozenset[str] = frozenset(
            name for name, f in found.fields.items() if is_required_input_field(f)
        )
        self.leaves: dict[str, Any] = {}
        self.plain: frozenset[str] = frozenset(
            name
            for name, f in found.fields.items()
            if isinstance(t := get_nullable_type(f.type), GraphQLScalarType)
            and t.name in _PLAIN_STRINGS
        )
        for name, field in found.fields.items():
            # Every optional field of this input defaults to null; a default of another
            # value would need graphql-core's coerce_default_value: refuse to start.
            assert field.out_name is None
            assert name in self.required or field.default_value is None
            if name not in self.required:
                self.defaults[name] = None
            self.leaves[name] = get_nullable_type(field.type).coerce_input_value
        self.names = frozenset(self.leaves)
        # An enum's names coerced once (each to its member: the leaf's answer, every time).
        self.enums: dict[str, dict[str, Any]] = {
            name: {key: self.leaves[name](key) for key in t.values}
            for name, f in found.fields.items()
            if isinstance(t := get_nullable_type(f.type), GraphQLEnumType)
        }

    def coerce(self, value: Any) -> dict[str, Any] | None:
        """graphql-core's coerced dict for one item, or None when it refuses the item."""
        fast = self.fast(value)
        if fast is not None:
            return fast
        slow = coerce_input_value(value, self.type)
        return None if slow is Undefined else slow

    def fast(self, value: Any) -> dict[str, Any] | None:
        """The loop: None for anything out of the ordinary (graphql-core decides then)."""
        if type(value) is not dict or not self.required <= value.keys() <= self.names:
            return None
        coerced = dict(self.defaults)
        plain, enums = self.plain, self.enums
        try:
            for name, raw in value.items():
                if raw is None:
                    if name in self.required:
                        return None
                    coerced[name] = None
                elif type(raw) is str and name in plain:
                    coerced[name] = raw
                elif type(raw) is str and name in enums:
                    member = enums[name].get(raw)
                    if member is None:
                        return None
                    coerced[name] = member
                else:
                    coerced[name] = self.leaves[name](raw)
        except Exception:  # any refusal: graphql-core explains it
            return None
        return coerced

    def errors(self, value: Any) -> list[tuple[str | None, str]]:
        """Why graphql-core refuses the item: (field path or None, message) each."""
        found: list[tuple[str | None, str]] = []

        def on_error(error: GraphQLError, path: list[str | int]) -> None:
            found.append((".".join(str(p) for p in path) or None, error.message))

        validate_input_value(value, self.type, on_error)
        return found
