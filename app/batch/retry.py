"""Every database read and write of a batch goes through `with_retries` (SPEC §7)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from app.config import redact
from app.repositories.faults import Fault, classify, describe, is_database_error

RETRY_BACKOFF_SECONDS = (0.1, 0.2, 0.4)

T = TypeVar("T")


class DatabaseFailure(Exception):
    """A database operation that still failed after its retries (or could not be retried)."""

    def __init__(self, fault: Fault, error: BaseException, attempts: int, what: str) -> None:
        self.fault = fault
        self.error = error
        self.attempts = attempts
        self.what = what
        self.reason = redact(describe(error))[:300]
        super().__init__(self.reason)


def with_retries(
    operation: Callable[[], T],
    *,
    sleep: Callable[[float], None],
    what: str = "a database operation",
    on_retry: Callable[[int, Fault, str], None] | None = None,
    give_up: Callable[[], bool] | None = None,
) -> T:
    """Run `operation`; transient and connection faults are retried with back-off 0.1, 0.2, 0.4 s.

    Any database error that remains is raised as DatabaseFailure (with its kind); other
    exceptions (bugs, bad data) pass through unchanged. `give_up` (a stop was requested, and
    the statement may have been cancelled for it) ends the retries at once.
    """
    attempt = 0
    while True:
        try:
            return operation()
        except Exception as error:
            if not is_database_error(error):
                raise
            fault = classify(error)
            stopping = give_up is not None and give_up()
            if not fault.retryable or attempt == len(RETRY_BACKOFF_SECONDS) or stopping:
                raise DatabaseFailure(fault, error, attempt + 1, what) from error
            if on_retry is not None:
                on_retry(attempt + 1, fault, redact(describe(error)))
            sleep(RETRY_BACKOFF_SECONDS[attempt])
            attempt += 1


UPGRADE_HINT = "run `kapman db upgrade`"


def failure_reason(failure: DatabaseFailure) -> str:
    """The one ERROR line for an operation that stopped on a database failure."""
    match failure.fault:
        case Fault.CONNECTION:
            return f"database unavailable: {failure.reason}"
        case Fault.SCHEMA:
            return f"database schema is missing a table or column ({failure.reason}); {UPGRADE_HINT}"
        case Fault.PERMISSION:
            return f"permission denied while {failure.what}: {failure.reason}"
        case Fault.DRIFT:
            return (
                f"database schema differs from the one this project writes ({failure.reason}): a column it does "
                f"not write refused the row while {failure.what}; fix the schema (a default, or drop the constraint)"
            )
        case Fault.STORAGE:
            return f"database storage is full while {failure.what}: {failure.reason}"
        case Fault.TRANSIENT:
            return f"{failure.what} failed after {failure.attempts} attempts: {failure.reason}"
        case _:
            return f"{failure.what} failed: {failure.reason}"


def explain_error(error: BaseException, what: str = "the command") -> str:
    """One line for an error that ended a command: a database fault says what to do about it."""
    if isinstance(error, DatabaseFailure):
        return failure_reason(error)
    if is_database_error(error):
        return failure_reason(DatabaseFailure(classify(error), error, 1, what))
    return redact(describe(error))[:300]
