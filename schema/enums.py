"""The domain's StrEnums, registered as GraphQL enums under their own names."""

from __future__ import annotations

import strawberry

from app.models.accounts import AccountSource, BuyingRole, Classification
from app.models.activities import ActivityKind
from app.models.assignments import CadenceStatus, ManagerType
from app.models.auth import Role

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
