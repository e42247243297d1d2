from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pycountry
from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email
from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES

from app.errors import AppError, ErrorGroup, InvalidInputError

COUNTRY_CODES = frozenset(c.alpha_2 for c in pycountry.countries)
# The years a DateTime input may name. Beyond them lie BC dates (once a +14:00 offset is
# taken off year 1) that the driver cannot encode, and nothing a CRM means.
FIRST_YEAR, LAST_YEAR = 1900, 2200


def moment_error(value: datetime) -> str | None:
    """Why a DateTime input is unusable, or None."""
    if value.tzinfo is None:
        return "needs a time zone"
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        return f"must be within the years {FIRST_YEAR} to {LAST_YEAR}"
    if not FIRST_YEAR <= value.astimezone(UTC).year <= LAST_YEAR:
        return f"must be within the years {FIRST_YEAR} to {LAST_YEAR} in UTC"
    return None


def check_moment(field: str, value: datetime | None) -> datetime | None:
    """A DateTime argument outside any Checks (a report's bounds): raise when unusable."""
    checks = Checks()
    checks.moment(field, value)
    checks.raise_if_any()
    return value


# Plain ASCII addresses (the vast majority) are checked and normalised here exactly as
# email_validator would (tests/kit/test_validation.py compares both); anything else goes to
# email_validator, which costs ~60 µs an address: too much for a 100,000-row import.
_SIMPLE_EMAIL = re.compile(
    r"(?P<local>[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*)"
    r"@(?P<domain>(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63})"
)
_CASE_INSENSITIVE = frozenset(CASE_INSENSITIVE_MAILBOX_NAMES)
_SPECIAL_USE = frozenset(SPECIAL_USE_DOMAIN_NAMES)


def simple_email(value: str) -> str | None:
    """The normalised address when it is plainly valid ASCII; None to ask email_validator."""
    found = _SIMPLE_EMAIL.fullmatch(value)
    if found is None or len(value) > 254:
        return None
    local, domain = found.group("local"), found.group("domain").lower()
    if len(local) > 64 or len(domain) > 253 or "--" in domain:
        return None
    labels = domain.split(".")
    if any(".".join(labels[i:]) in _SPECIAL_USE for i in range(len(labels))):
        return None
    if local.lower() in _CASE_INSENSITIVE:
        local = local.lower()
    return f"{local}@{domain}"


class Checks:
    """Collects every input error of one call, so the client sees them all at once."""

    def __init__(self) -> None:
        self.errors: list[AppError] = []

    def fail(self, field: str, message: str) -> None:
        self.errors.append(InvalidInputError(message, field=field))

    def add(self, error: AppError) -> None:
        self.errors.append(error)

    def raise_if_any(self) -> None:
        if len(self.errors) == 1:
            raise self.errors[0]
        if self.errors:
            raise ErrorGroup(self.errors)

    def no_nul(self, field: str, *values: str | None) -> None:
        """Free text used as given (a filter, a search): only NUL is refused."""
        if any(value is not None and "\x00" in value for value in values):
            self.fail(field, f"{field} must not contain NUL characters.")

    def text(
        self, field: str, value: str | None, *, max_length: int, required: bool = False
    ) -> str | None:
        if value is None:
            if required:
                self.fail(field, f"{field} is required.")
            return None
        if "\x00" in value:
            self.fail(field, f"{field} must not contain NUL characters.")
            return None
        value = value.strip()
        if not value:
            if required:
                self.fail(field, f"{field} must not be empty.")
            return None
        if len(value) > max_length:
            self.fail(field, f"{field} must be at most {max_length} characters.")
        return value

    def email(self, field: str, value: str | None, *, required: bool = False) -> str | None:
        value = self.text(field, value, max_length=254, required=required)
        if value is None:
            return None
        fast = simple_email(value)
        if fast is not None:
            return fast
        try:
            return validate_email(value, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            self.fail(field, f"{field} is not a valid email address: {exc}")
            return value

    def country(self, field: str, value: str | None) -> str | None:
        value = self.text(field, value, max_length=100)
        if value is None:
            return None
        code = value.upper()
        if code not in COUNTRY_CODES:
            self.fail(field, f"{field} must be an ISO 3166 alpha-2 country code.")
        return code

    def moment(self, field: str, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        problem = moment_error(value)
        if problem is not None:
            self.fail(field, f"{field} {problem}.")
            return None
        return value

    def decimal(
        self, field: str, value: Decimal | None, *, low: Decimal, high: Decimal, places: int
    ) -> Decimal | None:
        """A finite amount with low <= value < high and at most `places` decimals.

        NaN, Infinity and exponents like 1e999999999 parse as Decimals: refuse them here,
        before any comparison (NaN raises) or the database (which would overflow) sees them.
        """
        if value is None:
            return None
        if not value.is_finite():
            self.fail(field, f"{field} must be a finite number.")
        elif not low <= value < high:
            self.fail(field, f"{field} must be at least {low} and below {high}.")
        elif value != round(value, places):
            self.fail(field, f"{field} has more than {places} decimal places.")
        else:
            return value
        return None

    def int_range(self, field: str, value: int | None, *, low: int, high: int) -> int | None:
        if value is not None and not low <= value <= high:
            self.fail(field, f"{field} must be between {low} and {high}.")
        return value

    def json_object(self, field: str, value: Any) -> dict[str, Any] | None:
        if value is None:
            return None
        if not isinstance(value, dict):
            self.fail(field, f"{field} must be a JSON object.")
            return None
        if _has_nul(value):  # jsonb refuses \u0000
            self.fail(field, f"{field} must not contain NUL characters.")
            return None
        if _has_huge_number(value):
            # jsonb keeps 1e21 as the integer 1000000000000000000000, which no 64-bit JSON
            # writer can send back: refused here instead of failing every later read.
            self.fail(field, f"{field} must hold numbers from -2**63 up to below 2**64 only.")
            return None
        return value


def _has_huge_number(value: Any) -> bool:
    """Outside what a 64-bit JSON writer answers: -2**63 up to 2**64 - 1."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return not -(2**63) <= value < 2**64
    if isinstance(value, dict):
        return any(_has_huge_number(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_huge_number(v) for v in value)
    return False


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False
