"""The CLI's half of the rule for numbers: no numeric option of any command is NaN or infinite.

Typer reads ``nan`` and ``inf`` as floats, and NaN passes every ``x <= 0`` check, so the root group
wraps each command's callback once: a non-finite number in any option is one ``error:`` line and
exit 2, before the command runs. Ranges that belong to a value (a duration is positive, alpha is in
(0, 1)) are checked where it is used, with ``ecgbench.numbers``, so the library refuses them too.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

from ecgbench.errors import BadInputError


def _check(name: str, value: Any) -> None:
    values = value if isinstance(value, list | tuple) else (value,)
    for v in values:
        if isinstance(v, float) and not math.isfinite(v):
            flag = "--" + name.replace("_", "-")
            raise BadInputError(f"{flag} must be a finite number, not {v}")


def _checked(callback: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(callback)
    def run(*args: Any, **kwargs: Any) -> Any:
        for name, value in kwargs.items():
            _check(name, value)
        return callback(*args, **kwargs)

    run.__ecgbench_finite__ = True  # type: ignore[attr-defined]
    return run


def finite_numbers(cmd: Any) -> None:  # a click Command or Group (typer's vendored click)
    """Wrap the callback of ``cmd`` and of every command below it (idempotent)."""
    cb = getattr(cmd, "callback", None)
    if cb is not None and not getattr(cb, "__ecgbench_finite__", False):
        cmd.callback = _checked(cb)
    for sub in (getattr(cmd, "commands", None) or {}).values():
        finite_numbers(sub)
