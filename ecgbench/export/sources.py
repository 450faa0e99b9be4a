"""Where an exporter's records come from: train folds calibrate INT8, validation folds verify.

INT8 is never calibrated on synthetic data; verification falls back to the synthetic input (and
says so) because an FP32 export is still worth checking with no records at hand.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ecgbench.data.dataset import EcgSet, load_dataset, select_paths
from ecgbench.data.folds import FoldSplit
from ecgbench.data.preprocess import Preprocessing
from ecgbench.data.synthetic import synthetic_input
from ecgbench.errors import BadInputError, EcgbenchError

DATA_ENV = "ECGBENCH_DATA"


def default_data_dir() -> Path | None:
    """``$ECGBENCH_DATA``, else ``None``: the package never guesses where records are (the
    tests and ``.ci/run`` hand the development records over through this variable)."""
    return Path(os.environ[DATA_ENV]) if os.environ.get(DATA_ENV) else None


def folds_if_split(d: Path, folds: Iterable[int]) -> tuple[int, ...] | None:
    """``folds`` for a folder with ``metadata.csv``; a plain folder of records is read whole."""
    return tuple(folds) if (Path(d) / "metadata.csv").is_file() else None


@dataclass
class RecordSource:
    """The records of one exporter, read at most once each (a cache hit reads only their names)."""

    pp: Preprocessing
    explicit_dir: Path | None = None  # --calibration; None: default_data_dir() at each use
    calibration_folds: tuple[int, ...] = FoldSplit().train
    validation_folds: tuple[int, ...] = FoldSplit().val
    calibration_size: int = 300
    verify_records: int = 64
    show_progress: bool = True
    _calibration: EcgSet | None = field(default=None, init=False, repr=False)
    _verification: tuple[np.ndarray, bool] | None = field(default=None, init=False, repr=False)

    def data_dir(self) -> Path | None:
        return self.explicit_dir or default_data_dir()

    def _calibration_dir(self) -> Path:
        d = self.data_dir()
        if d is None:
            raise EcgbenchError(
                "INT8 needs real calibration records and none are at hand: pass --calibration DIR "
                f"(or set {DATA_ENV}); synthetic calibration is never used"
            )
        return Path(d)

    def calibration_set(self) -> EcgSet:
        """Records of the train folds, spread over the folder, for INT8 calibration."""
        if self._calibration is None:
            d = self._calibration_dir()
            data = load_dataset(
                d,
                self.pp,
                folds=folds_if_split(d, self.calibration_folds),
                limit=self.calibration_size,
                spread=True,
                min_duration_s=1.0,
                show_progress=self.show_progress,
            )
            if len(data) == 0:
                raise BadInputError(f"no usable calibration record in {d}")
            self._calibration = data
        return self._calibration

    def calibration_id(self) -> dict[str, Any]:
        """Which records calibrate, from their names only: a cache hit reads no record."""
        d = self._calibration_dir()
        folds = folds_if_split(d, self.calibration_folds)
        paths = select_paths(d, folds, self.calibration_size, spread=True)
        h = hashlib.sha256("\n".join(p.name for p in paths).encode()).hexdigest()[:16]
        return {"dir": d.name, "selected": len(paths), "names_sha": h}

    def verification_inputs(self) -> tuple[np.ndarray, bool]:
        """Real records of the validation folds when any are at hand, else the synthetic input."""
        if self._verification is None:
            x = self._validation_records()
            if x is None or len(x) == 0:
                self._verification = synthetic_input(self.pp, batch=8), False
            else:
                self._verification = x, True
        return self._verification

    def _validation_records(self) -> np.ndarray | None:
        d = self.data_dir()
        if d is None:
            return None
        try:
            data = load_dataset(
                d,
                self.pp,
                folds=folds_if_split(d, self.validation_folds),
                limit=self.verify_records,
                spread=True,
                min_duration_s=1.0,
                show_progress=False,
            )
        except BadInputError:
            return None
        return data.eval_array()

    def verification_ids(self) -> list[str]:
        """Names of the records :meth:`verification_inputs` reads (empty: the synthetic input)."""
        d = self.data_dir()
        if d is None:
            return []
        try:
            folds = folds_if_split(d, self.validation_folds)
            return [p.name for p in select_paths(d, folds, self.verify_records, True)]
        except BadInputError:
            return []

    def accuracy_control_set(self) -> EcgSet:
        """Every validation-fold record: what ``--max-drop`` measures the accuracy drop on."""
        d = self.data_dir()
        if d is None:
            raise EcgbenchError("--max-drop needs validation records: pass --calibration DIR")
        folds = folds_if_split(d, self.validation_folds)
        return load_dataset(d, self.pp, folds=folds, min_duration_s=1.0, show_progress=False)
