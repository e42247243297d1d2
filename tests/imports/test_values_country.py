"""Country cells of imports: ISO alpha-2 or alpha-3 codes and English names, any case."""

from __future__ import annotations

import pytest

from app.imports.values import parse_country


@pytest.mark.parametrize(
    ("value", "code"),
    [
        *[("Germany", "DE"), ("GERMANY", "DE"), ("DEU", "DE"), ("deu", "DE"), ("de", "DE")],
        *[(" France ", "FR"), ("Czechia", "CZ"), ("United States", "US"), ("USA", "US")],
    ],
)
def test_country_names_and_alpha_3_codes_resolve(value: str, code: str) -> None:
    assert parse_country(value) == code


@pytest.mark.parametrize("value", ["Narnia", "UK", "276", "Deutschland"])
def test_other_country_values_are_left_for_the_check(value: str) -> None:
    assert parse_country(value) == value
