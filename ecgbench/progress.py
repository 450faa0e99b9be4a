"""Rich progress bars on a terminal; a line per tenth (at most one per 10 s) when piped; quiet in CI.

A piped ``ecgbench run`` used to print nothing for the whole timing (90 s and more): a user could
not tell a slow run from a hung one.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


def quiet() -> bool:
    return bool(os.environ.get("CI")) or os.environ.get("ECGBENCH_QUIET") == "1"


class _NullProgress:
    def add_task(self, *a: object, **k: object) -> int:
        return 0

    def advance(self, *a: object, **k: object) -> None:
        pass

    def update(self, *a: object, **k: object) -> None:
        pass


class LineProgress(_NullProgress):
    """Progress as plain lines on stderr: each task at every tenth done, at most every 10 s."""

    def __init__(self, every_s: float = 10.0, write=None) -> None:
        self.every_s = every_s
        self._write = write or (lambda line: print(line, file=sys.stderr, flush=True))
        self._tasks: dict[int, list] = {}  # id -> [description, total, completed, tenth, shown at]
        self._t0 = time.monotonic()

    def add_task(self, description: str, total: float | None = None, **k: object) -> int:
        self._tasks[len(self._tasks)] = [description, total, 0.0, 0, None]
        return len(self._tasks) - 1

    def advance(self, task: int, advance: float = 1, **k: object) -> None:
        self.update(task, completed=self._tasks[task][2] + advance)

    def update(self, task: int, completed: float | None = None, **k: object) -> None:
        t = self._tasks[task]
        if completed is not None:
            t[2] = completed
        if not t[1]:
            return
        tenth, now = int(10 * min(t[2] / t[1], 1.0)), time.monotonic()
        if tenth > t[3] and (t[4] is None or now - t[4] >= self.every_s or tenth == 10):
            t[3], t[4] = tenth, now
            self._write(f"{t[0]}: {tenth * 10}% ({now - self._t0:.0f} s)")


@contextlib.contextmanager
def progress_bar(enabled: bool = True, lines: bool = False) -> Iterator[Progress | _NullProgress]:
    """A bar on a terminal; off it, nothing, or with ``lines`` a line per tenth (long steps)."""
    if not enabled or quiet() or not sys.stderr.isatty():
        yield LineProgress() if enabled and lines and not quiet() else _NullProgress()
        return
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        transient=True,
    ) as p:
        yield p
