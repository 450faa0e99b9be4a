"""User-facing errors: the CLI prints their message as one line and exits non-zero."""

from __future__ import annotations


class EcgbenchError(Exception):
    """A problem the user can fix (bad input, missing file, absent device); never a bug."""

    exit_code: int = 1


class BadInputError(EcgbenchError):
    exit_code = 2


class ChecksumError(EcgbenchError):
    """A checkpoint or artifact whose sha256 differs from what the manifest records."""


class DeviceNotFoundError(EcgbenchError):
    pass


class NoBaselineError(EcgbenchError):
    """No stored baseline fits this machine: the gate has nothing to judge against (not a fault).

    Its own exit code, so a workflow can pass the job and say so instead of failing it."""

    exit_code = 3
