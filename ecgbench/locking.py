"""An exclusive lock file held across a read-modify-write (the zoo manifest, a store's creation).

``fcntl.flock`` on ``<path>.lock``: released by the kernel when the holder exits, even by kill -9,
so a crashed writer never leaves the next one waiting forever.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from ecgbench.errors import BadInputError


@contextlib.contextmanager
def exclusive(path: str | os.PathLike[str]) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` + ``.lock`` for the block (waits for other holders)."""
    lock = Path(str(path) + ".lock")
    try:
        lock.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as e:
        raise BadInputError(f"cannot lock {lock}: {e.strerror}") from None
    try:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: msvcrt locks a byte range instead
            import msvcrt

            msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
        else:
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
