"""Account plans, forecasts and segmentation; the planning fields of Account."""

from schema.planning.account import AccountPlanningFields
from schema.planning.mutations import Mutation
from schema.planning.queries import Query

__all__ = ["AccountPlanningFields", "Mutation", "Query"]
