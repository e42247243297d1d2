"""What a field's selection asks for, read from strawberry's selected-field nodes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from strawberry.types import Info
from strawberry.types.nodes import SelectedField, Selection


def selects(info: Info[Any, Any], name: str) -> bool:
    """Whether the current field's selection asks for `name` (fragments included)."""

    def walk(selections: Sequence[Selection]) -> bool:
        for selection in selections:
            if isinstance(selection, SelectedField):
                if selection.name == name:
                    return True
            elif walk(selection.selections):
                return True
        return False

    return any(walk(field.selections) for field in info.selected_fields)
