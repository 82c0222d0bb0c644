"""The one-line errors of the job commands."""
from __future__ import annotations

from orchestrator.errors import HpoError, UserInputError


class JobError(HpoError):
    """A Jobs API request failed (the cluster answered with an error)."""


class ClusterUnreachable(JobError):
    """Nothing answers at the Jobs API address."""


class AuthenticationFailed(JobError):
    """The cluster requires a token and none was sent, or the one sent was refused."""


class JobNotFound(UserInputError):
    """The cluster knows no job of that id (exit code 2)."""
