"""Managers' reports as GraphQL fields: coverage, flow, stuck entries, activity mix."""

from schema.reports.queries import Query

__all__ = ["Query"]
