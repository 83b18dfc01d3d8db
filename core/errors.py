"""Errors raised by core services.

Every user mistake becomes a :class:`NodedeskError` whose ``str()`` is one line naming the
field and the rule. Front ends print it; they never show a traceback for these.
"""

from __future__ import annotations


class NodedeskError(Exception):
    """Base class for refusals a user can act on."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}" if field else message)


class ValidationError(NodedeskError):
    """Input breaks a rule (bad value, bad format, end before start...)."""


class NotFoundError(NodedeskError):
    """A referenced record does not exist."""


class PermissionDenied(NodedeskError):
    """The acting user lacks the role the action needs."""


class LockedError(NodedeskError):
    """The record may not change in its current state (e.g. a completed window)."""


class ConflictError(NodedeskError):
    """Someone else changed the record, or it clashes with another record."""


class NotInitializedError(NodedeskError):
    """The database has not been created yet (``nodedesk init``)."""


class SchemaOutdatedError(NodedeskError):
    """The database schema is older than this version of nodedesk."""


class BusyError(ConflictError):
    """Another unit of work held the lock this one needed for longer than the site lets a save
    wait (``lock_timeout_seconds``), or a statement ran past ``statement_timeout_seconds``.
    Nothing was saved; trying again usually works (help/troubleshooting.md). A kind of conflict:
    another admin's save was in the way."""
