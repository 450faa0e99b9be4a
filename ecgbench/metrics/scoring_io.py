"""Challenge-format files: labels from WFDB headers, model outputs as per-record CSV files.

Reading follows the official ``evaluate_model.py`` (2021) so that folder scores match it: records
are the ``*.hea`` files of the label folder in sorted order, codes are matched to the scored classes
of weights.csv with equivalent codes (``a|b``) merged, output columns may come in any order and use
any code of an equivalence class (binary: any positive; probability: mean), and non-finite
probabilities count as 0. Two deliberate differences, both for the user's sake:

* a *missing* output file scores as all-negative with a logged warning (the official script stops
  with an IOError); if no record has an output file at all, that is an error;
* a *malformed* output file raises :class:`BadInputError` naming the file instead of being
  silently read as zeros or crashing.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ecgbench.data.classes import NORMAL_CLASS, SCORED_CLASSES, code_to_class_index, load_weights
from ecgbench.errors import BadInputError
from ecgbench.fileio import atomic_write_text
from ecgbench.metrics.challenge import ChallengeScores, score_arrays

__all__ = [
    "list_label_records",
    "load_label_folder",
    "load_output_file",
    "load_output_folder",
    "parse_dx_codes",
    "score_folders",
    "write_output_file",
]

log = logging.getLogger(__name__)

_TRUE = frozenset({"1", "True", "true", "T", "t"})  # the official script's positive spellings
_FALSE = frozenset({"0", "False", "false", "F", "f"})

PathLike = str | os.PathLike[str]


def list_label_records(label_dir: PathLike) -> list[str]:
    """Record names of the ``*.hea`` files in ``label_dir``, sorted as the official script does."""
    d = Path(label_dir)
    if not d.is_dir():
        raise BadInputError(f"label folder {d} does not exist")
    return [
        os.path.splitext(f.name)[0]
        for f in sorted(d.iterdir(), key=lambda p: p.name)
        if f.is_file() and f.name.lower().endswith(".hea") and not f.name.startswith(".")
    ]


def parse_dx_codes(header_text: str) -> list[str]:
    """SNOMED codes of every ``#Dx:`` comment line of a WFDB header."""
    codes: list[str] = []
    for line in header_text.splitlines():
        if line.startswith("#Dx"):
            _, sep, rest = line.partition(":")
            if sep:
                codes += [c.strip() for c in rest.split(",") if c.strip()]
    return codes


def _multi_hot(codes: Sequence[str], index: dict[str, int], n_classes: int) -> np.ndarray:
    y = np.zeros(n_classes, dtype=bool)
    for code in codes:
        for part in code.split("|"):
            j = index.get(part.strip())
            if j is not None:
                y[j] = True
    return y


def load_label_folder(
    label_dir: PathLike, classes: Sequence[str] = SCORED_CLASSES
) -> tuple[list[str], np.ndarray]:
    """``(records, labels [N, C] bool)`` from the headers in ``label_dir``.

    A code counts for a class if it is any member of the class's equivalence set; unscored codes
    are ignored, and a record with none of the scored codes gets an all-False row (it still counts,
    as in the official scorer).
    """
    records = list_label_records(label_dir)
    if not records:
        raise BadInputError(f"no .hea header files in {label_dir}")
    index = code_to_class_index(tuple(classes))
    labels = np.zeros((len(records), len(classes)), dtype=bool)
    for i, rec in enumerate(records):
        path = Path(label_dir) / f"{rec}.hea"
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError as e:
            raise BadInputError(f"cannot read header {path}: {e.strerror}") from None
        labels[i] = _multi_hot(parse_dx_codes(text), index, len(classes))
    return records, labels


def _parse_binary(token: str, path: Path) -> bool:
    if token in _TRUE:
        return True
    if token in _FALSE:
        return False
    raise BadInputError(f"{path}: binary output {token!r} is not 0/1 (or True/False)")


def _parse_probability(token: str, path: Path) -> float:
    try:
        value = float(token)
    except ValueError:
        raise BadInputError(f"{path}: probability {token!r} is not a number") from None
    return value if math.isfinite(value) else 0.0  # official: non-finite counts as 0


def load_output_file(
    path: PathLike, classes: Sequence[str] = SCORED_CLASSES
) -> tuple[str, np.ndarray, np.ndarray]:
    """``(record id, binary [C] bool, probabilities [C] float)`` from one Challenge output file.

    Columns are matched to ``classes`` by code, so their order is free and any code of an
    equivalence class may be used; columns of unscored codes are ignored. If several columns map to
    one class, the class is positive if any is, and its probability is their mean (official rule).
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise BadInputError(f"cannot read output file {p}: {e}") from None
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if len(lines) != 4 or not lines[0].startswith("#"):
        raise BadInputError(
            f"{p}: malformed output file (want 4 lines: #record, classes, 0/1 labels, "
            f"probabilities; got {len(lines)} non-empty lines)"
        )
    record = lines[0][1:].strip()
    codes, binary_tokens, prob_tokens = ([t.strip() for t in ln.split(",")] for ln in lines[1:])
    if not len(codes) == len(binary_tokens) == len(prob_tokens) or "" in codes:
        raise BadInputError(
            f"{p}: malformed output file ({len(codes)} classes, {len(binary_tokens)} labels, "
            f"{len(prob_tokens)} probabilities)"
        )
    binary_in = [_parse_binary(t, p) for t in binary_tokens]
    probs_in = [_parse_probability(t, p) for t in prob_tokens]

    index = code_to_class_index(tuple(classes))
    n = len(classes)
    any_pos = np.zeros(n, dtype=bool)
    prob_sum = np.zeros(n, dtype=np.float64)
    count = np.zeros(n, dtype=np.int64)
    for code, b, q in zip(codes, binary_in, probs_in, strict=True):
        # One column counts once per class even if it names several codes of the class.
        for j in {index[c.strip()] for c in code.split("|") if c.strip() in index}:
            any_pos[j] |= b
            prob_sum[j] += q
            count[j] += 1
    probs = np.divide(prob_sum, count, out=np.zeros(n), where=count > 0)
    return record, any_pos, probs


def load_output_folder(
    output_dir: PathLike, records: Sequence[str], classes: Sequence[str] = SCORED_CLASSES
) -> tuple[np.ndarray, np.ndarray]:
    """``(binary [N, C] bool, probabilities [N, C] float)`` for ``records`` in that order.

    A record without ``<record>.csv`` counts as all-negative (probability 0); a warning says how
    many. It is an error if none of the records has an output file (likely the wrong folder).
    """
    d = Path(output_dir)
    if not d.is_dir():
        raise BadInputError(f"output folder {d} does not exist")
    binary = np.zeros((len(records), len(classes)), dtype=bool)
    probs = np.zeros((len(records), len(classes)), dtype=np.float64)
    missing: list[str] = []
    for i, rec in enumerate(records):
        path = d / f"{rec}.csv"
        if not path.is_file():
            missing.append(rec)
            continue
        _, binary[i], probs[i] = load_output_file(path, classes)
    if records and len(missing) == len(records):
        raise BadInputError(f"none of the {len(records)} records has an output file in {d}")
    if missing:
        log.warning(
            "%d of %d records have no output file in %s (scored as all-negative), e.g. %s",
            len(missing),
            len(records),
            d,
            missing[0],
        )
    return binary, probs


def write_output_file(
    path: PathLike,
    record: str,
    classes: Sequence[str],
    binary: Sequence[bool] | np.ndarray,
    probs: Sequence[float] | np.ndarray,
) -> None:
    """Write one Challenge output file atomically; probabilities keep full float precision."""
    b = np.asarray(binary).reshape(-1)
    q = np.asarray(probs, dtype=np.float64).reshape(-1)
    if not len(classes) == b.size == q.size:
        raise BadInputError(
            f"output for {record}: {len(classes)} classes, {b.size} labels, {q.size} probabilities"
        )
    text = (
        f"#{record}\n"
        + ",".join(str(c) for c in classes)
        + "\n"
        + ",".join("1" if v else "0" for v in b.astype(bool))
        + "\n"
        + ",".join(repr(float(v)) for v in q)
        + "\n"
    )
    atomic_write_text(path, text)


def score_folders(
    label_dir: PathLike,
    output_dir: PathLike,
    weights_path: PathLike | None = None,
    normal_class: str = NORMAL_CLASS,
    missing: str = "negative",
) -> ChallengeScores:
    """Score a folder of output files against a folder of headers, like ``evaluate_model.py``.

    Records without an output file: ``negative`` scores them all-negative (the official code),
    ``skip`` scores only the records that have one, ``refuse`` is an error naming how many lack one.
    """
    weights = load_weights(weights_path)
    records, labels = load_label_folder(label_dir, weights.classes)
    lacking = [r for r in records if not (Path(output_dir) / f"{r}.csv").is_file()]
    if lacking and len(lacking) < len(records) and missing == "refuse":
        raise BadInputError(
            f"{len(lacking)} of {len(records)} records have no output file in {output_dir} "
            f"(e.g. {lacking[0]}): --only-with-outputs scores the {len(records) - len(lacking)} "
            "that have one, --missing-as-negative scores the rest all-negative"
        )
    if lacking and missing == "skip":
        keep = [i for i, r in enumerate(records) if r not in set(lacking)]
        records, labels = [records[i] for i in keep], labels[keep]
    binary, probs = load_output_folder(output_dir, records, weights.classes)
    return score_arrays(labels, binary, probs, weights, normal_class)
