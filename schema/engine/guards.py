"""The rule table's read checks, installed on graphql-core's fields once per schema.

A field whose rule (schema/authz.py) does not admit every role checks the viewer's role
before its resolver runs; a forbidden field reads as null with a FORBIDDEN error.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSchema,
    default_field_resolver,
    get_named_type,
)

from app.models.auth import Role
from schema.authz import FIELD_RULES, FORBIDDEN_MESSAGE, POLICY, TYPE_RULES

ROOTS = frozenset({"Query", "Mutation", "Subscription"})
GUARD = "accountflow.guard"  # a guarded field's extensions: (roles, unguarded resolver)


def forbidden() -> GraphQLError:
    return GraphQLError(FORBIDDEN_MESSAGE, extensions={"code": "FORBIDDEN"})


def field_action(parent: GraphQLObjectType, name: str, field: GraphQLField) -> str:
    """The action reading `parent.name` needs; KeyError when no table gives one."""
    override = FIELD_RULES.get(f"{parent.name}.{name}")
    if override is not None:
        return override
    if TYPE_RULES[parent.name] == "payload":
        return "payload"
    named = get_named_type(field.type)
    if isinstance(named, GraphQLInterfaceType):
        return "public"  # the runtime type is checked where it is resolved (node)
    if isinstance(named, GraphQLObjectType):
        return TYPE_RULES[named.name]
    return TYPE_RULES[parent.name]


def install_guards(schema: GraphQLSchema) -> None:
    """Put a role check in front of every field whose rule does not admit every role.

    A scalar field's rule is its type's, and every way into an object (a field returning
    it, `node`) is checked already: only fields with an override or an object type get a
    check of their own.
    """
    for type_ in schema.type_map.values():
        if not isinstance(type_, GraphQLObjectType) or type_.name.startswith("__"):
            continue
        for name, field in type_.fields.items():
            action = field_action(type_, name, field)
            entry = f"{type_.name}.{name}" in FIELD_RULES or isinstance(
                get_named_type(field.type), GraphQLObjectType
            )
            roles = POLICY[action].roles
            # Whoever reached the parent passed its rule: only a narrower one needs a check.
            narrower = not POLICY[TYPE_RULES[type_.name]].roles <= roles
            if entry and narrower and GUARD not in field.extensions:
                _guard(field, roles)
                # A field some roles may not read is nullable below the root, so its null
                # stays in place instead of wiping its parents (a whole mutation payload).
                if type_.name not in ROOTS and isinstance(field.type, GraphQLNonNull):
                    field.type = field.type.of_type


def _guard(field: GraphQLField, roles: frozenset[Role]) -> None:
    resolve = field.resolve or default_field_resolver

    def guarded(source: Any, info: GraphQLResolveInfo[Any], **args: Any) -> Any:
        if info.context.role not in roles:
            raise forbidden()
        return resolve(source, info, **args)

    field.extensions = {**field.extensions, GUARD: (roles, resolve)}
    field.resolve = guarded
