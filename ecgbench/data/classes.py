"""The 26 scored diagnoses of the PhysioNet/CinC Challenge 2021 and their equivalent codes.

The class list is public knowledge and lives here; the Challenge's reward matrix (``weights.csv``)
is not copied into the repository: :func:`find_weights_file` locates it from a path the user gives
or the ``ECGBENCH_WEIGHTS`` environment variable.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ecgbench.errors import BadInputError

# Order and names exactly as the columns of the Challenge's weights.csv.
SCORED_CLASSES: tuple[str, ...] = (
    "164889003", "164890007", "6374002", "426627000", "733534002|164909002",
    "713427006|59118001", "270492004", "713426002", "39732003", "445118002", "164947007",
    "251146004", "111975006", "698252002", "426783006", "284470004|63593006", "10370003",
    "365413008", "427172004|17338001", "164917005", "47665007", "427393009", "426177001",
    "427084000", "164934002", "59931005",
)  # fmt: skip

ABBREVIATIONS: dict[str, str] = {
    "164889003": "AF", "164890007": "AFL", "6374002": "BBB", "426627000": "Brady",
    "733534002|164909002": "LBBB", "713427006|59118001": "RBBB", "270492004": "IAVB",
    "713426002": "IRBBB", "39732003": "LAD", "445118002": "LAnFB", "164947007": "LPR",
    "251146004": "LQRSV", "111975006": "LQT", "698252002": "NSIVCB", "426783006": "NSR",
    "284470004|63593006": "PAC", "10370003": "PR", "365413008": "PRWP",
    "427172004|17338001": "PVC", "164917005": "QAb", "47665007": "RAD", "427393009": "SA",
    "426177001": "SB", "427084000": "STach", "164934002": "TAb", "59931005": "TInv",
}  # fmt: skip

NORMAL_CLASS = "426783006"
WEIGHTS_ENV = "ECGBENCH_WEIGHTS"
WEIGHTS_HINT = (
    "get weights.csv from https://github.com/physionetchallenges/evaluation-2021 and pass "
    f"--weights PATH or set {WEIGHTS_ENV}"
)


def code_to_class_index(classes: tuple[str, ...] = SCORED_CLASSES) -> dict[str, int]:
    """Every SNOMED code (each member of an equivalence class) -> column index."""
    out: dict[str, int] = {}
    for i, name in enumerate(classes):
        for code in name.split("|"):
            out[code.strip()] = i
    return out


def encode_labels(codes: list[str], classes: tuple[str, ...] = SCORED_CLASSES) -> np.ndarray:
    """Multi-hot vector over the scored classes; unscored codes are ignored."""
    idx = code_to_class_index(classes)
    y = np.zeros(len(classes), dtype=np.float32)
    for c in codes:
        if c.strip() in idx:
            y[idx[c.strip()]] = 1.0
    return y


@dataclass(frozen=True)
class Weights:
    classes: tuple[str, ...]
    matrix: np.ndarray  # [C, C] reward for (label, output)


def find_weights_file(path: str | os.PathLike[str] | None = None) -> Path:
    candidates: list[Path] = []
    if path:
        candidates.append(Path(path))
    elif os.environ.get(WEIGHTS_ENV):
        candidates.append(Path(os.environ[WEIGHTS_ENV]))
    else:  # never a guess outside the working folder: tests and CI hand it over
        candidates.append(Path.cwd() / "weights.csv")
    for c in candidates:
        if c.is_file():
            return c
    where = ", ".join(str(c) for c in candidates)
    raise BadInputError(f"Challenge weights.csv not found (looked at {where}); {WEIGHTS_HINT}")


def load_weights(path: str | os.PathLike[str] | None = None) -> Weights:
    """Read the reward matrix; class names come from its header row, as the official code does."""
    p = find_weights_file(path)
    try:
        rows = [line.rstrip("\n").split(",") for line in p.read_text().splitlines() if line.strip()]
        classes = tuple(c.strip() for c in rows[0][1:])
        m = np.array([[float(v) for v in r[1:]] for r in rows[1:]], dtype=np.float64)
    except (ValueError, IndexError, OSError) as e:
        raise BadInputError(f"{p}: not a Challenge weights table ({e})") from None
    if m.shape != (len(classes), len(classes)):
        raise BadInputError(f"{p}: weights matrix is {m.shape}, expected square {len(classes)}")
    # The score is normalised by the reward of a perfect classifier (the diagonal): a NaN, a value
    # outside [0, 1] or a diagonal other than 1 gives scores outside the Challenge's range.
    if not np.all(np.isfinite(m)) or m.min() < 0 or m.max() > 1:
        raise BadInputError(f"{p}: every weight must be a finite number in [0, 1]")
    if not np.allclose(np.diag(m), 1.0):
        raise BadInputError(f"{p}: the diagonal (a correct label) must be 1 everywhere")
    return Weights(classes=classes, matrix=m)
