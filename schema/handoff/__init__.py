"""Pipelines and handoffs: definitions, entries, moves, stage history and reports."""

from schema.handoff.board import Query as BoardQuery
from schema.handoff.mutations import Mutation
from schema.handoff.queries import Query
from schema.handoff.types import AccountHandoffFields

__all__ = ["AccountHandoffFields", "BoardQuery", "Mutation", "Query"]
