"""What the streaming scenario is asked for: how long, how often a window arrives, its length and
how much else runs on the machine. Light on purpose: the suite imports it."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

from ecgbench.errors import BadInputError

PREPROCESS = ("none", "fir", "iir")  # data/causal.py's modes, or none


@dataclass(frozen=True)
class StreamConfig:
    """``seconds`` of wall-clock stream, a window every ``hop_s``; ``window_s`` None: the model's
    own window (its record length); ``background``: CPU-burning processes started for the stream."""

    seconds: float = 20.0
    hop_s: float = 2.0
    window_s: float | None = None
    background: int = 0
    # "none": windows arrive preprocessed (the model alone is timed); "fir" / "iir": raw samples
    # arrive and each window's service also runs the causal preprocessing (data/causal.py)
    preprocess: str = "none"

    def validate(self) -> StreamConfig:
        """Each bad value is one line naming the option (the CLI's spelling)."""
        for name, v in (("stream-seconds", self.seconds), ("hop-s", self.hop_s)):
            if not _positive(v):
                raise BadInputError(f"--{name} must be a number > 0, not {v!r}")
        if self.window_s is not None and not _positive(self.window_s):
            raise BadInputError(f"--window-s must be a number > 0, not {self.window_s!r}")
        if isinstance(self.background, bool) or not isinstance(self.background, int):
            raise BadInputError(f"--background must be a whole number, not {self.background!r}")
        if self.background < 0:
            raise BadInputError(f"--background must be >= 0, not {self.background}")
        if self.preprocess not in PREPROCESS:
            raise BadInputError(
                f"--stream-preprocess must be one of {', '.join(PREPROCESS)}, not {self.preprocess!r}"
            )
        return self

    def windows(self) -> int:
        """Windows arriving in the stream: one at 0, hop_s, 2 hop_s, ... while before ``seconds``."""
        return max(1, math.ceil(self.seconds / self.hop_s - 1e-9))

    @classmethod
    def from_dict(cls, d: Any, where: str = "stream") -> StreamConfig:
        """A suite's ``[stream]`` table; unknown keys and unreadable values are one line each."""
        if not isinstance(d, dict):
            raise BadInputError(
                f"{where} must be a table (seconds, hop_s, window_s, background, preprocess)"
            )
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise BadInputError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
        try:
            kw: dict[str, Any] = {
                k: float(v) for k, v in d.items() if k not in ("background", "preprocess")
            }
            if "preprocess" in d:
                kw["preprocess"] = str(d["preprocess"])
            if "background" in d:
                b = d["background"]
                kw["background"] = b if isinstance(b, int) and not isinstance(b, bool) else str(b)
        except (TypeError, ValueError) as e:
            raise BadInputError(f"{where}: bad value ({e})") from None
        return cls(**kw).validate()


def _positive(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and v > 0
