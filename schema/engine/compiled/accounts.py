"""The accounts list compiled from the read model (app.accounts.read): its orders by a
column, its filters on the table's own columns, its cursor."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.accounts import read
from app.errors import AppError
from schema.engine.compiled import sqltext as js
from schema.engine.compiled.compiler import (
    Bind,
    Binder,
    Compiler,
    Field,
    NotCompilable,
    Refused,
)
from schema.engine.compiled.pages import column_name, keyset_page
from schema.relay import from_global_id

Condition = Callable[[str], str]  # SQL given the table's alias


def _order_of(arguments: dict[str, Any]) -> tuple[str, bool]:
    order = arguments.get("orderBy")
    if order is None:
        return read.OrderField.NAME.value, False
    field_name = getattr(order["field"], "value", order["field"])
    direction = getattr(order.get("direction"), "value", order.get("direction"))
    return str(field_name), direction == "DESC"


def _predicate(column_filter: read.Filter, column: str, p: str) -> str:
    if column_filter.op is read.Op.ANY:
        return f"{column} = ANY({p})"
    if column_filter.op is read.Op.CONTAINS:
        return f"{column} @> {p}"
    if column_filter.op is read.Op.AFTER:
        return f"{column} > {p}"
    if column_filter.op is read.Op.FOLDED:
        return f"lower({column}) = lower({p})"
    if column_filter.op is read.Op.PREFIX:
        return f"starts_with(upper({column}), {p})"
    return f"{column} = {p}"


def _cast(column_filter: read.Filter) -> str:
    python_type = column_filter.attribute.type.python_type
    if column_filter.op is read.Op.CONTAINS:
        return "text[]"  # an array of texts, the only kind of array column filtered
    cast = js.cast(python_type)
    return f"{cast}[]" if column_filter.op is read.Op.ANY else cast


def _convert(column_filter: read.Filter) -> Callable[[Any], Any]:
    """The request's value as the parameter: a global id's key, enums by their names."""
    if column_filter.id_of is not None:
        return lambda value: _pk(value, column_filter)

    def convert(value: Any) -> Any:
        value = column_filter.normalise(value)
        if isinstance(value, list):
            return [getattr(v, "value", v) for v in value]
        return getattr(value, "value", value)

    return convert


def _pk(global_id: str, column_filter: read.Filter) -> int:
    try:
        type_name, pk = from_global_id(global_id, field=f"filter.{column_filter.name}")
    except AppError as error:
        raise Refused(str(error)) from error
    if type_name != column_filter.id_of:
        raise Refused(f"not an id of a {column_filter.id_of}")
    return pk


def _conditions(c: Compiler, f: Field, shape: dict[str, Any]) -> list[Condition]:
    arguments = c.arguments(f)

    def filtered(name: str, bind: Bind) -> Any:
        value = (arguments(bind).get("filter") or {}).get(name)
        for text in value if isinstance(value, list) else [value]:
            if isinstance(text, str) and "\x00" in text:
                raise Refused("NUL in a filter")
        return value

    conditions: list[Condition] = []
    if not shape.get("includeArchived"):
        conditions.append(lambda t: f"{t}.archived_at IS NULL")
    for column_filter in read.FILTERS:
        if not column_filter.given(shape.get(column_filter.name)):
            continue
        p = c.param(_binder(column_filter, filtered), _cast(column_filter))
        column = "{t}." + column_name(column_filter.attribute)
        conditions.append(_condition(_predicate(column_filter, column, p)))
    return conditions


def _binder(column_filter: read.Filter, filtered: Callable[[str, Bind], Any]) -> Binder:
    convert = _convert(column_filter)
    return lambda bind: convert(filtered(column_filter.name, bind))


def _condition(sql: str) -> Condition:
    return lambda t: sql.format(t=t)


def accounts(c: Compiler, f: Field) -> str:
    given = c.compile_time_arguments(f)
    if given.get("last") is not None or given.get("before") is not None:
        raise NotCompilable("backward pages")
    arguments = c.arguments(f)
    field_name, descending = c.decide(lambda bind: _order_of(arguments(bind)), c.bind)
    field = read.OrderField(field_name)
    if field not in read.ORDER_COLUMNS:
        raise NotCompilable(f"the order {field_name}")
    shape = given.get("filter") or {}
    if any(shape.get(name) is not None for name in read.JOINED_FILTERS):
        raise NotCompilable("a filter field without SQL")
    conditions = _conditions(c, f, shape)

    def where(t: str) -> str:
        return " AND ".join([condition(t) for condition in conditions] or ["true"])

    order = read.account_order(field, descending, search=None)
    return keyset_page(c, f, "accounts", where, order)
