"""Lambda's managed runtimes with their deprecation dates: which runtime each language deploys with, and when AWS
refuses a runtime for creating or updating a function."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class RuntimeDates:
    """A runtime's three dates on AWS's Lambda runtimes page: deprecated, then no new functions, then no updates."""

    deprecation: dt.date
    block_create: dt.date
    block_update: dt.date


def _dates(deprecation: str, block_create: str, block_update: str) -> RuntimeDates:
    return RuntimeDates(*(dt.date.fromisoformat(day) for day in (deprecation, block_create, block_update)))


# From the "Supported runtimes" and "Deprecated runtimes" tables of AWS's Lambda runtimes page
# (docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html). AWS moves these dates now and then: when it does,
# or when a new runtime appears, update this table (test_runtimes.py fails once a chosen runtime is deprecated).
RUNTIME_DATES: dict[str, RuntimeDates] = {
    "nodejs24.x": _dates("2028-04-30", "2028-06-01", "2028-07-01"),
    "nodejs22.x": _dates("2027-04-30", "2027-06-01", "2027-07-01"),
    "nodejs20.x": _dates("2026-04-30", "2026-08-31", "2026-09-30"),
    "nodejs18.x": _dates("2025-09-01", "2026-02-03", "2026-03-09"),
    "nodejs16.x": _dates("2024-06-12", "2026-02-28", "2026-03-31"),
    "python3.14": _dates("2029-06-30", "2029-07-31", "2029-08-31"),
    "python3.13": _dates("2029-06-30", "2029-07-31", "2029-08-31"),
    "python3.12": _dates("2028-10-31", "2028-11-30", "2029-01-10"),
    "python3.11": _dates("2027-06-30", "2027-07-31", "2027-08-31"),
    "python3.10": _dates("2026-06-30", "2026-07-31", "2026-08-31"),
    "python3.9": _dates("2025-12-15", "2026-06-01", "2026-07-01"),
    "python3.8": _dates("2024-10-14", "2026-02-28", "2026-03-31"),
}

# The runtime each deployable language's blocks run on. Python stays on the version pip's wheels are pinned to
# (packaging.PIP_PLATFORM); Node on the oldest current LTS the Node handler supports.
CHOSEN: dict[str, str] = {"python": "python3.12", "node": "nodejs22.x"}


def today() -> dt.date:
    """Today in UTC, the calendar AWS's dates are given in."""
    return dt.datetime.now(dt.UTC).date()


def blocked(runtime: str, updating: bool, on: dt.date | None = None) -> bool:
    """Does AWS refuse `runtime` for creating (or, with `updating`, updating) a function `on` that day?

    A runtime missing from the table is never blocked here: AWS's own validation (or moto's) answers for it."""
    dates = RUNTIME_DATES.get(runtime)
    if dates is None:
        return False
    cutoff = dates.block_update if updating else dates.block_create
    return (on or today()) >= cutoff


def refusal_message(runtime: str) -> str:
    """AWS's message for a runtime it no longer accepts (InvalidParameterValueException)."""
    current = ", ".join(runtime for runtime, dates in RUNTIME_DATES.items() if dates.deprecation > today())
    return (
        f"The runtime parameter of {runtime} is no longer supported for creating or updating AWS Lambda functions. "
        f"We recommend you use a supported runtime while creating or updating functions ({current})."
    )
