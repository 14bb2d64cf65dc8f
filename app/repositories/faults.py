"""What kind of database failure an exception is, whatever path raised it (SPEC §7).

One classification serves every driver path: SQLAlchemy Core and ORM errors
(which wrap the driver's), raw psycopg errors from COPY, and sqlite3 errors.
The batch engine decides from the kind whether to retry, fail the ticker-day
or stop the batch.
"""

from __future__ import annotations

import sqlite3
from enum import StrEnum

import psycopg
from sqlalchemy.exc import DBAPIError, SQLAlchemyError


class Fault(StrEnum):
    TRANSIENT = "transient"  # retry: serialization, deadlock, lock or statement timeout, a busy file
    CONNECTION = "connection"  # retry; if it persists the database is gone
    SCHEMA = "schema"  # a table or column is missing: nothing will work until migrated
    PERMISSION = "permission"  # a revoked privilege, a read-only database or directory, a failed login
    DRIFT = "schema_drift"  # a column this project does not write refuses the row (NOT NULL, CHECK, type)
    STORAGE = "storage"  # the disk is full: every further write fails the same way
    OTHER = "other"  # any other database error (a constraint, bad data): confined to one ticker-day

    @property
    def retryable(self) -> bool:
        return self in (Fault.TRANSIENT, Fault.CONNECTION)

    @property
    def stops_batch(self) -> bool:
        """Faults that make every further ticker-day fail the same way."""
        return self in (Fault.SCHEMA, Fault.PERMISSION, Fault.DRIFT, Fault.STORAGE)


_SQLSTATE_FAULTS = {
    "40001": Fault.TRANSIENT,  # serialization_failure
    "40P01": Fault.TRANSIENT,  # deadlock_detected
    "55P03": Fault.TRANSIENT,  # lock_not_available (lock_timeout)
    "57014": Fault.TRANSIENT,  # query_canceled (statement_timeout)
    "53100": Fault.STORAGE,  # disk_full
    "53300": Fault.TRANSIENT,  # too_many_connections
    "53200": Fault.TRANSIENT,  # out_of_memory
    "57P01": Fault.CONNECTION,  # admin_shutdown
    "57P02": Fault.CONNECTION,  # crash_shutdown
    "57P03": Fault.CONNECTION,  # cannot_connect_now (starting up)
    "3D000": Fault.SCHEMA,  # the database does not exist
    "3F000": Fault.SCHEMA,  # invalid_schema_name
    "42P01": Fault.SCHEMA,  # undefined_table
    "42703": Fault.SCHEMA,  # undefined_column
    "42883": Fault.SCHEMA,  # undefined_function
    "42704": Fault.SCHEMA,  # undefined_object
    "42804": Fault.DRIFT,  # datatype_mismatch: a job column whose type was changed
    "23502": Fault.DRIFT,  # not_null_violation: this project writes no NULL key, so a column it does not write
    "23514": Fault.DRIFT,  # check_violation
    "42501": Fault.PERMISSION,  # insufficient_privilege
    "25006": Fault.PERMISSION,  # read_only_sql_transaction
    "28000": Fault.PERMISSION,  # invalid_authorization_specification
    "28P01": Fault.PERMISSION,  # invalid_password
}
# By primary result code (the low byte of an extended code: SQLITE_READONLY_DIRECTORY is 1544 = 8 + 6·256).
_SQLITE_CODE_FAULTS = {
    5: Fault.TRANSIENT,  # SQLITE_BUSY
    6: Fault.TRANSIENT,  # SQLITE_LOCKED
    8: Fault.PERMISSION,  # SQLITE_READONLY, also _DIRECTORY (no -wal file can be made) and _DBMOVED
    3: Fault.PERMISSION,  # SQLITE_PERM
    23: Fault.PERMISSION,  # SQLITE_AUTH
    13: Fault.STORAGE,  # SQLITE_FULL
    14: Fault.CONNECTION,  # SQLITE_CANTOPEN
    10: Fault.CONNECTION,  # SQLITE_IOERR
    26: Fault.SCHEMA,  # SQLITE_NOTADB
    11: Fault.SCHEMA,  # SQLITE_CORRUPT
}
# SQLITE_CONSTRAINT_NOTNULL and _CHECK: schema drift (a foreign key or unique failure stays one ticker-day's).
_SQLITE_DRIFT_CODES = {1299, 275}
_SQLITE_SCHEMA_MESSAGES = ("no such table", "no such column", "has no column named")


def _driver_error(error: BaseException) -> BaseException:
    return error.orig if isinstance(error, DBAPIError) and error.orig is not None else error


def is_database_error(error: BaseException) -> bool:
    return isinstance(error, (SQLAlchemyError, psycopg.Error, sqlite3.Error))


def _postgres_fault(driver: psycopg.Error) -> Fault:
    sqlstate = driver.sqlstate
    if sqlstate is None:
        # Client-side failures carry no SQLSTATE: a refused or lost connection, a closed cursor.
        if isinstance(driver, (psycopg.OperationalError, psycopg.InterfaceError)):
            return Fault.CONNECTION
        return Fault.OTHER
    if sqlstate.startswith("08"):
        return Fault.CONNECTION
    return _SQLSTATE_FAULTS.get(sqlstate, Fault.OTHER)


def _sqlite_fault(driver: sqlite3.Error) -> Fault:
    message = str(driver).lower()
    if any(text in message for text in _SQLITE_SCHEMA_MESSAGES):
        return Fault.SCHEMA
    code = getattr(driver, "sqlite_errorcode", None)
    if code in _SQLITE_DRIFT_CODES:
        return Fault.DRIFT
    fault = _SQLITE_CODE_FAULTS.get(code & 0xFF) if isinstance(code, int) else None
    if fault is not None:
        return fault
    return Fault.TRANSIENT if isinstance(driver, sqlite3.OperationalError) else Fault.OTHER


def classify(error: BaseException) -> Fault:
    """The kind of database failure `error` is (call only for database errors)."""
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return Fault.CONNECTION
    driver = _driver_error(error)
    if isinstance(driver, psycopg.Error):
        return _postgres_fault(driver)
    if isinstance(driver, sqlite3.Error):
        return _sqlite_fault(driver)
    # A SQLAlchemy OperationalError around something unknown: the driver said it was operational.
    if isinstance(error, DBAPIError) and type(error).__name__ == "OperationalError":
        return Fault.TRANSIENT
    return Fault.OTHER


def describe(error: BaseException) -> str:
    """One line naming the error, without SQLAlchemy's statement echo and background link."""
    driver = _driver_error(error)
    text = str(driver).strip().splitlines()[0] if str(driver).strip() else ""
    return f"{type(driver).__name__}: {text}" if text else type(driver).__name__
