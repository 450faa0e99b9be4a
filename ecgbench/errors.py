"""User-facing errors: the CLI prints their message as one line and exits with its code.

The exit codes are one table, used by every command (README "Bad input and exit codes"):
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """What a CI job can branch on; a user error is never confused with the gate's regression."""

    OK = 0
    REGRESSION = 1  # the gate found a slowdown, or a check the command exists for failed
    BAD_INPUT = 2  # anything the user can fix: a flag, a file, a device, a name, a number
    NO_BASELINE = 3  # no stored baseline fits this machine: nothing to judge against
    INCONCLUSIVE = 4  # a key's noise hid a threshold-sized slowdown


class EcgbenchError(Exception):
    """A problem the user can fix (bad input, missing file, absent device); never a bug."""

    exit_code: int = ExitCode.BAD_INPUT


class BadInputError(EcgbenchError):
    exit_code = ExitCode.BAD_INPUT


class ChecksumError(EcgbenchError):
    """A checkpoint or artifact whose sha256 differs from what the manifest records."""


class DeviceNotFoundError(EcgbenchError):
    """A device the machine does not have: bad input (exit 2), not the gate's regression."""


class NoBaselineError(EcgbenchError):
    """No stored baseline fits this machine: the gate has nothing to judge against (not a fault).

    Its own exit code, so a workflow can pass the job and say so instead of failing it."""

    exit_code = ExitCode.NO_BASELINE


def os_error_line(e: OSError) -> str:
    """``cannot write /x/y: No space left on device``: what failed, where, and why."""
    where = e.filename if e.filename is not None else ""
    why = e.strerror or type(e).__name__
    return f"{where}: {why}" if where else why
