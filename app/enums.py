from __future__ import annotations

from enum import StrEnum

import sqlalchemy as sa


def enum_column(enum: type[StrEnum], name: str) -> sa.Enum:
    """Store a StrEnum as VARCHAR with a CHECK constraint: no native PG enum to migrate."""
    return sa.Enum(
        enum,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )
