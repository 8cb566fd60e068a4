"""The one error the operator tools raise for a mistake the user can fix."""

from __future__ import annotations

__all__ = ["OpsError"]


class OpsError(Exception):
    """A problem the user can fix (a missing file or topic, an unreachable broker);
    the command line prints it as one line and exits with status 2."""
