"""Account plans: the planning issue adds its fields to Account here."""

from __future__ import annotations

import strawberry


@strawberry.type
class AccountPlanningFields:
    pass
