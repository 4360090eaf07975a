"""Bad input to the command: every known kind becomes exit status 2 and a message saying what and where."""

from __future__ import annotations

from billing_core import ContractError, RatingError
from billing_io.contract_yaml import ContractSyntaxError
from billing_io.events_jsonl import EventError, EventFileError

from .offline_run import NoPeriodsError

__all__ = ["EXIT_BAD_INPUT", "EXIT_OK", "INPUT_ERRORS", "describe_input_error"]

EXIT_OK = 0
EXIT_BAD_INPUT = 2

INPUT_ERRORS: tuple[type[Exception], ...] = (
    ContractSyntaxError,
    ContractError,
    EventError,
    EventFileError,
    RatingError,
    NoPeriodsError,
    OSError,
)


def describe_input_error(error: Exception) -> list[str]:
    """One message per problem, each standing on its own line of stderr."""
    if isinstance(error, ContractError):
        return [f"contract error: {issue}" for issue in error.issues] or [f"contract error: {error}"]
    if isinstance(error, EventFileError):
        return [f"bad event: {item}" for item in error.errors]
    if isinstance(error, EventError):
        return [f"bad event: {error}"]
    if isinstance(error, ContractSyntaxError):
        return [f"contract error: {error}"]
    if isinstance(error, RatingError):
        message = str(error)
        named = (error.tenant, error.site, error.category or "", error.period)
        if all(part in message for part in named):
            return [f"cannot rate: {message}"]
        category = error.category if error.category is not None else "-"
        return [
            f"cannot rate: tenant {error.tenant}, site {error.site}, category {category}, "
            f"period {error.period}: {message}"
        ]
    if isinstance(error, OSError):
        if error.filename is None:
            return [f"file error: {error}"]
        return [f"file error: {error.filename}: {error.strerror or error}"]
    return [str(error)]
