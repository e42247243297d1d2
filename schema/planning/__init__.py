"""Account plans, forecasts and segmentation; the planning fields of Account."""

from schema.planning.account import AccountPlanningFields
from schema.planning.mutations import Mutation
from schema.planning.queries import Query
from schema.planning.statuses import Mutation as StatusMutation
from schema.planning.statuses import Query as StatusQuery

__all__ = ["AccountPlanningFields", "Mutation", "Query", "StatusMutation", "StatusQuery"]
