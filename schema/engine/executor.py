"""A lean executor for queries: graphql-core's answers with far less work per field.

graphql-core completes every field through generic layers (a path object, a resolve info,
argument coercion, awaitable checks, error bookkeeping) that cost more than the field
itself when a page holds thousands of them. For queries this context runs a plan instead:
the fields graphql-core collected are turned, once per selection and request, into steps;
a field without resolver is a `getattr` (its scalar coerced only when it is not already
the plain Python type); a resolver gets its arguments converted once for the whole list;
and the coroutines of a whole list level are started together, so DataLoaders batch as
before, while a resolver that does not wait costs no task.

Anything out of the ordinary (a resolver error, null in a non-null field, @defer,
middleware) abandons the plan and graphql-core executes the operation from the start, so
errors keep their exact messages and paths. Queries only read, and DataLoaders keep what
they loaded, so the second run is cheap.
"""

from __future__ import annotations

import asyncio
import logging
import types
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from enum import Enum
from types import CoroutineType
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLEnumType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLScalarType,
    GraphQLSchema,
    is_abstract_type,
)
from graphql.execution import executor as graphql_executor
from graphql.execution.collect_fields import FieldDetails
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path
from sqlalchemy.exc import DBAPIError
from strawberry.schema.schema import Schema, StrawberryGraphQLCoreExecutionContext
from strawberry.types.arguments import convert_arguments
from strawberry.types.field import StrawberryField

from app import metrics
from schema.engine import batch_variables
from schema.permissions import GUARD

log = logging.getLogger(__name__)


async def _gather_all(*awaitables: Any) -> list[Any]:
    """Sibling fields to the end, then the first failure (graphql-core's own cancels them).

    graphql-core cancels a failed field's siblings; one cancelled mid-statement leaves its
    connection mid-protocol, and one cancelled while checking a connection out of the pool
    leaks it. Their answers are dropped all the same, so waiting for them costs nothing but
    the time they take, and every error they meet is reported.
    """
    results = await asyncio.gather(*awaitables, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results


graphql_executor.gather_with_cancel = _gather_all  # type: ignore[attr-defined]

FieldDetailsList = list[FieldDetails]
Grouped = dict[str, FieldDetailsList]

# Values a built-in scalar passes through unchanged.
PLAIN: dict[str, type] = {"String": str, "ID": str, "Boolean": bool, "Int": int}
INT_RANGE = range(-(2**31), 2**31)


class Fallback(Exception):
    """The plan cannot answer this operation like graphql-core would; let graphql-core."""


# Why a plan was abandoned: the `reason` label of the fallback counter (a fixed set).
NULL_IN_NON_NULL = "null in a non-null field"
SCALAR_NULL = "a scalar coerced to null"
RUNTIME_TYPE = "cannot resolve the runtime type"
DEFER = "@defer or a forbidden directive"
INTROSPECTION = "introspection"
FORBIDDEN_FIELD = "a forbidden field: graphql-core answers it with the error"
UNEXPECTED_TYPE = "unexpected type"
NOT_TYPE_OF = "is_type_of refused the value"
RESOLVER_ERROR = "resolver error"


def fallback_reason(error: BaseException) -> str:
    cause = error.__cause__ if isinstance(error, Fallback) and error.__cause__ else error
    return str(cause) if isinstance(cause, Fallback) else RESOLVER_ERROR


# How a step gets its value.
ATTR = "attr"  # a field without resolver: getattr(source, attr)
TYPENAME = "typename"
CORE = "core"  # as graphql-core calls it: resolve(source, info, **args)
METHOD = "method"  # the resolver function itself, taking the source as `self`
FUNCTION = "function"  # the resolver function itself, without source


@dataclass(slots=True)
class Step:
    key: str
    parent: GraphQLObjectType
    output: GraphQLOutputType
    details: FieldDetailsList
    mode: str
    attr: str | None = None
    resolve: Callable[..., Any] = getattr
    info: GraphQLResolveInfo[Any] | None = None
    args: dict[str, Any] = field(default_factory=dict)
    plain: type | None = None  # a value of this class is the answer as it is
    finish: Callable[[Any], Any] | None = None  # completes a value (built on first use)


# A resolver's task and where its value goes.
Pending = tuple[asyncio.Task[Any], dict[str, Any], Step]


@types.coroutine
def _continue(coroutine: Generator[Any, None, Any], awaited: Any) -> Generator[Any, Any, Any]:
    """Hand the task what the coroutine waits for, and drive the coroutine from there."""
    while True:
        if getattr(awaited, "_asyncio_future_blocking", None) is False:
            awaited._asyncio_future_blocking = True  # cleared by Plan.start: see there
        try:
            yield awaited
        except BaseException as error:  # the task was cancelled: pass it on
            try:
                awaited = coroutine.throw(error)
            except StopIteration as stop:
                return stop.value
        else:
            try:
                awaited = coroutine.send(None)
            except StopIteration as stop:
                return stop.value


async def _resume(coroutine: Generator[Any, None, Any], awaited: Any) -> Any:
    return await _continue(coroutine, awaited)


def _nullable(type_: GraphQLOutputType) -> tuple[GraphQLOutputType, bool]:
    if isinstance(type_, GraphQLNonNull):
        return type_.of_type, False
    return type_, True


class Plan:
    """One operation's run: steps per (type, selection), and the awaitables of the level."""

    def __init__(self, context: FastExecutionContext) -> None:
        self.context = context
        self.steps: dict[tuple[str, int], list[Step]] = {}
        self.pending: list[Pending] = []
        self.loop = asyncio.get_running_loop()
        self.enum_names: dict[tuple[str, Enum], str] = {}

    async def run(self, root_type: GraphQLObjectType, root: Any, grouped: Grouped) -> Any:
        failure: BaseException | None = None
        try:
            data = self.object(root_type, self._steps(root_type, grouped, None), root)
        except Exception as error:
            failure = error
        # Even when abandoning, settle every task started: one may hold the session's lock.
        while self.pending:
            level, self.pending = self.pending, []
            values = await asyncio.gather(*(p[0] for p in level), return_exceptions=True)
            for (_, out, step), value in zip(level, values, strict=True):
                if failure is not None:
                    continue
                if isinstance(value, BaseException):
                    failure = value
                    continue
                try:
                    out[step.key] = self.complete(step, value)
                except Exception as error:
                    failure = error
        if failure is not None:
            raise Fallback from failure
        return data

    def start(self, coroutine: Generator[Any, None, Any], out: dict[str, Any], step: Step) -> None:
        """Run a resolver's coroutine up to its first wait in this task.

        Most resolvers of a list never wait (their DataLoader has the value, or they are
        plain functions declared async), and those need no task at all; one that waits gets
        a task that continues it. Every resolver of the level starts before any task runs,
        so their DataLoader calls still land in one batch.
        """
        try:
            awaited = coroutine.send(None)
        except StopIteration as stop:
            out[step.key] = self.complete(step, stop.value)
            return
        # A DataLoader gives every coroutine loading one key the same future. Awaiting it
        # marks it blocking until a task takes it, and a second await of a marked future
        # fails ("await wasn't used with future"): unmark it while it waits here for its
        # task (_continue marks it again when handing it over, as its __await__ would).
        if getattr(awaited, "_asyncio_future_blocking", False):
            awaited._asyncio_future_blocking = False
        task = self.loop.create_task(_resume(coroutine, awaited))
        self.pending.append((task, out, step))

    def object(self, type_: GraphQLObjectType, steps: list[Step], source: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        is_awaitable = self.context.is_awaitable
        for step in steps:
            mode = step.mode
            if mode is ATTR:
                value = getattr(source, step.attr)  # type: ignore[arg-type]
                if value.__class__ is step.plain:  # most fields: a str that stays a str
                    out[step.key] = value
                    continue
            elif mode is TYPENAME:
                out[step.key] = step.parent.name
                continue
            else:
                resolve, args = step.resolve, step.args
                if mode is CORE:
                    value = resolve(source, step.info, **args)
                elif mode is METHOD:
                    value = resolve(source, **args)
                else:
                    value = resolve(**args)
                if is_awaitable(value):
                    out[step.key] = None
                    if value.__class__ is not CoroutineType:
                        value = value.__await__()
                    self.start(value, out, step)
                    continue
            out[step.key] = self.complete(step, value)
        return out

    def complete(self, step: Step, value: Any) -> Any:
        finish = step.finish
        if finish is None:
            finish = step.finish = self.completer(step.output, step)
        return finish(value)

    def completer(self, type_: GraphQLOutputType, step: Step) -> Callable[[Any], Any]:
        """The completion of a value of this type, decided once per step, not per value."""
        named, nullable = _nullable(type_)
        inner = self._completer(named, step)
        if nullable:
            return lambda value: None if value is None else inner(value)

        def non_null(value: Any) -> Any:
            if value is None:
                raise Fallback(NULL_IN_NON_NULL)
            return inner(value)

        return non_null

    def _completer(self, type_: GraphQLOutputType, step: Step) -> Callable[[Any], Any]:
        leaf, enum, object_ = self.leaf, self.enum, self.object
        if isinstance(type_, GraphQLScalarType):
            plain = PLAIN.get(type_.name)
            if plain is int:
                return lambda v: v if v.__class__ is int and v in INT_RANGE else leaf(type_, v)
            return lambda v: v if v.__class__ is plain else leaf(type_, v)
        if isinstance(type_, GraphQLEnumType):
            return lambda v: enum(type_, v)
        if isinstance(type_, GraphQLList):
            item = self.completer(type_.of_type, step)
            return lambda v: [item(x) for x in v]
        if isinstance(type_, GraphQLObjectType):
            steps = self.subfields(type_, step.details)
            if type_.is_type_of is None:
                return lambda v: object_(type_, steps, v)
            check = self.type_check(type_, step)
            return lambda v: object_(type_, steps, check(v))
        if is_abstract_type(type_):
            return lambda v: self.abstract(type_, step, v)
        raise Fallback(UNEXPECTED_TYPE)

    def abstract(self, type_: Any, step: Step, value: Any) -> dict[str, Any]:
        runtime = self.runtime_type(type_, step, value)
        if runtime.is_type_of is not None:
            value = self.type_check(runtime, step)(value)
        return self.object(runtime, self.subfields(runtime, step.details), value)

    def type_check(self, type_: GraphQLObjectType, step: Step) -> Callable[[Any], Any]:
        """graphql-core asks `is_type_of` before completing an object: so do we."""
        is_type_of = type_.is_type_of
        assert is_type_of is not None
        info = step.info or self._info(step.parent, step.key, step.details)

        def check(value: Any) -> Any:
            if is_type_of(value, info) is not True:  # False, or awaitable: graphql-core's
                raise Fallback(NOT_TYPE_OF)
            return value

        return check

    def leaf(self, type_: GraphQLScalarType | GraphQLEnumType, value: Any) -> Any:
        coerced = type_.coerce_output_value(value)
        if coerced is None or self.context.is_awaitable(coerced):
            raise Fallback(SCALAR_NULL)
        return coerced

    def enum(self, type_: GraphQLEnumType, value: Any) -> Any:
        if not isinstance(value, Enum):
            return self.leaf(type_, value)
        key = (type_.name, value)
        name = self.enum_names.get(key)
        if name is None:
            name = self.enum_names[key] = self.leaf(type_, value)
        return name

    def runtime_type(self, type_: Any, step: Step, value: Any) -> GraphQLObjectType:
        context = self.context
        resolve_type = type_.resolve_type or context.type_resolver
        info = step.info or self._info(step.parent, step.key, step.details)
        name = resolve_type(value, info, type_)
        runtime = context.schema.get_type(name) if isinstance(name, str) else None
        if not isinstance(runtime, GraphQLObjectType) or not context.schema.is_sub_type(
            type_, runtime
        ):
            raise Fallback(RUNTIME_TYPE)
        return runtime

    def subfields(self, type_: GraphQLObjectType, details: FieldDetailsList) -> list[Step]:
        found = self.steps.get((type_.name, id(details)))
        if found is None:
            grouped, defer, forbidden = self.context.collect_subfields(type_, details)
            if defer or forbidden:
                raise Fallback(DEFER)
            found = self._steps(type_, grouped, details)
        return found

    def _steps(
        self, parent: GraphQLObjectType, grouped: Grouped, details: FieldDetailsList | None
    ) -> list[Step]:
        steps = [self._step(parent, key, group) for key, group in grouped.items()]
        self.steps[(parent.name, id(details))] = steps
        return steps

    def _step(self, parent: GraphQLObjectType, key: str, details: FieldDetailsList) -> Step:
        context = self.context
        node = details[0].node
        name = node.name.value
        if name == "__typename":
            return Step(key, parent, parent, details, TYPENAME)
        field = context.schema.get_field(parent, name)
        if field is None or name.startswith("__"):
            raise Fallback(INTROSPECTION)
        definition = (field.extensions or {}).get("strawberry-definition")
        resolve = field.resolve
        guard = field.extensions.get(GUARD)
        if guard is not None:  # checked once per selection, not per item
            roles, resolve = guard
            if context.context_value.role not in roles:
                raise Fallback(FORBIDDEN_FIELD)
        if definition is not None and self._basic(definition, resolve):
            named, _ = _nullable(field.type)
            plain = PLAIN.get(named.name) if isinstance(named, GraphQLScalarType) else None
            if plain is int:  # an int must also fit in 32 bits: leave it to complete()
                plain = None
            attr = definition.python_name
            return Step(key, parent, field.type, details, ATTR, attr=attr, plain=plain)
        args = {}
        if field.args or node.arguments:
            args = get_argument_values(
                field,
                node,
                context.variable_values,
                details[0].fragment_variable_values,
                context.hide_suggestions,
            )
        info = self._info(parent, key, details)
        direct = self._direct(definition, info, args)
        if direct is not None:
            mode, resolve, args = direct
        else:
            mode, resolve = CORE, resolve or context.field_resolver
        return Step(key, parent, field.type, details, mode, resolve=resolve, info=info, args=args)

    def _basic(self, definition: StrawberryField, resolve: Any) -> bool:
        """A field that only reads an attribute: no resolver, extension, handler or permission.

        strawberry marks every field without a resolver `_is_default`, also one with field
        extensions (an authorization check, say): only a basic field may be a getattr.
        """
        if not getattr(resolve, "_is_default", False):
            return False
        if not definition.is_basic_field or definition.permission_classes:
            return False
        if getattr(definition, "default_resolver", getattr) is not getattr:
            return False
        schema = self.context.strawberry_schema
        return schema is not None and not schema.exception_handlers

    def _direct(
        self,
        definition: StrawberryField | None,
        info: GraphQLResolveInfo[Any],
        args: dict[str, Any],
    ) -> tuple[str, Callable[..., Any], dict[str, Any]] | None:
        """The resolver function itself, its arguments converted once for the whole list.

        Strawberry's wrapper converts the arguments and builds an Info on every call; a
        field without field extensions (nor exception handlers) needs neither per item.
        """
        resolver = definition.base_resolver if definition is not None else None
        schema = self.context.strawberry_schema
        if resolver is None or definition is None or definition.extensions or schema is None:
            return None
        if schema.exception_handlers or resolver.root_parameter or resolver.parent_parameter:
            return None
        strawberry_info = schema.config.info_class(_raw_info=info, _field=definition)
        kwargs = convert_arguments(
            args,
            definition.arguments,
            scalar_registry=schema.schema_converter.scalar_registry,
            config=schema.config,
            info=strawberry_info,
        )
        if resolver.info_parameter:
            kwargs[resolver.info_parameter.name] = strawberry_info
        function = resolver.wrapped_func
        if not callable(function):
            return None
        return METHOD if resolver.self_parameter else FUNCTION, function, kwargs

    def _info(
        self, parent: GraphQLObjectType, key: str, details: FieldDetailsList
    ) -> GraphQLResolveInfo[Any]:
        """One info for every item of a list: only its path differs from graphql-core's."""
        field = self.context.schema.get_field(parent, details[0].node.name.value)
        assert field is not None
        nodes = [d.node for d in details]
        return self.context.build_resolve_info(field, nodes, parent, Path(None, key, parent.name))


class SettlingExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's execution context, telling the request what it leaves running.

    When an error bubbles up synchronously, graphql-core returns without waiting for the
    failed field's pending siblings and settles them in the background. They may still use
    the request's session; the request waits for them (`Context.settle`) before closing it,
    or one would check a connection out after the close and leak it.
    """

    def settle_in_background(self, awaitables: list[Any]) -> None:
        super().settle_in_background(awaitables)
        background = getattr(self.context_value, "background", None)
        if background is not None and self.background_futures not in background:
            background.append(self.background_futures)


class FastExecutionContext(SettlingExecutionContext):
    """graphql-core's execution context with the plan above in front, for queries.

    It also coerces logActivities' items itself (schema/engine/batch_variables.py).
    """

    @classmethod
    def build(
        cls,
        schema: GraphQLSchema,
        document: DocumentNode,
        root_value: Any = None,
        context_value: Any = None,
        raw_variable_values: dict[str, Any] | None = None,
        operation_name: str | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        found = batch_variables.split(schema, document, operation_name, raw_variable_values)
        if found is not None:
            light, restore = found
            built = super().build(
                schema, document, root_value, context_value, light, operation_name, *args, **kwargs
            )
            if not isinstance(built, list):  # else errors elsewhere: graphql-core explains all
                built.variable_values = restore(built.variable_values)
                return built
        return super().build(
            schema,
            document,
            root_value,
            context_value,
            raw_variable_values,
            operation_name,
            *args,
            **kwargs,
        )

    @property
    def strawberry_schema(self) -> Schema | None:
        return getattr(self.schema, "_strawberry_schema", None)

    def execute_collected_root_fields(
        self,
        root_type: GraphQLObjectType,
        root_value: Any,
        grouped_field_set: Grouped,
        serially: bool,
        new_defer_usages: Any,
    ) -> Any:
        standard = super().execute_collected_root_fields
        middleware = getattr(self.middleware_manager, "middlewares", ())
        if serially or new_defer_usages or middleware:
            return standard(root_type, root_value, grouped_field_set, serially, new_defer_usages)

        async def planned() -> Any:
            try:
                return await Plan(self).run(root_type, root_value, grouped_field_set)
            except Exception as error:  # any surprise: graphql-core gives the exact answer
                if isinstance(error.__cause__, DBAPIError):  # a rerun meets an aborted transaction
                    raise error.__cause__ from None
                log.debug("plan abandoned: %r", error, exc_info=True)
                metrics.EXECUTOR_FALLBACKS.labels(fallback_reason(error)).inc()
            result = standard(root_type, root_value, grouped_field_set, serially, new_defer_usages)
            return await result if self.is_awaitable(result) else result

        return planned()
