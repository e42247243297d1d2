"""The domain's StrEnums, registered as GraphQL enums under their own names."""

from __future__ import annotations

import strawberry

from app.accounts.models import AccountSource, BuyingRole, Classification
from app.activities.models import ActivityKind
from app.assignments.models import CadenceStatus, ManagerType
from app.auth.models import Role

for _enum in (Role, Classification, AccountSource, BuyingRole, ActivityKind, ManagerType):
    strawberry.enum(_enum)
strawberry.enum(CadenceStatus)

__all__ = [
    "AccountSource",
    "ActivityKind",
    "BuyingRole",
    "CadenceStatus",
    "Classification",
    "ManagerType",
    "Role",
]
