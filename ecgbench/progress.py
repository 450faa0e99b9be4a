"""Rich progress bars that stay quiet in CI and when output is not a terminal."""

from __future__ import annotations

import contextlib
import os
import sys
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


@contextlib.contextmanager
def progress_bar(enabled: bool = True) -> Iterator[Progress | _NullProgress]:
    if not enabled or quiet() or not sys.stderr.isatty():
        yield _NullProgress()
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
