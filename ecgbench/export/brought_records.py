"""The records of a brought model's exports, prepared as its card says (calibration, verification).

The same rules as :class:`ecgbench.export.sources.RecordSource`: INT8 is calibrated only on real
records of the train folds; verification uses the validation folds, or the synthetic input (and
says so) when no record is at hand.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ecgbench.card import ModelCard
from ecgbench.data.card_input import load_card_set, synthetic_card_input
from ecgbench.data.dataset import select_paths
from ecgbench.errors import BadInputError, EcgbenchError
from ecgbench.export.build import ExportOptions
from ecgbench.export.sources import DATA_ENV, default_data_dir, folds_if_split


@dataclass
class CardRecords:
    card: ModelCard
    opts: ExportOptions
    _calibration: np.ndarray | None = field(default=None, init=False, repr=False)
    _verification: tuple[np.ndarray, bool] | None = field(default=None, init=False, repr=False)

    def data_dir(self) -> Path | None:
        return self.opts.calibration_dir or default_data_dir()

    def _calibration_dir(self) -> Path:
        d = self.data_dir()
        if d is None:
            raise EcgbenchError(
                "INT8 needs real calibration records and none are at hand: pass --calibration DIR "
                f"(or set {DATA_ENV}); synthetic calibration is never used"
            )
        return Path(d)

    def calibration(self) -> np.ndarray:
        """[N, ...] model inputs of train-fold records, spread over the folder."""
        if self._calibration is None:
            d = self._calibration_dir()
            s = load_card_set(
                d,
                self.card,
                folds=folds_if_split(d, self.opts.calibration_folds),
                limit=self.opts.quant.subset_size,
                spread=True,
                labelled=False,
            )
            self._calibration = s.x
        return self._calibration

    def calibration_id(self) -> dict[str, Any]:
        d = self._calibration_dir()
        folds = folds_if_split(d, self.opts.calibration_folds)
        paths = select_paths(d, folds, self.opts.quant.subset_size, spread=True)
        h = hashlib.sha256("\n".join(p.name for p in paths).encode()).hexdigest()[:16]
        return {"dir": d.name, "selected": len(paths), "names_sha": h}

    def verification_inputs(self) -> tuple[np.ndarray, bool]:
        if self._verification is None:
            d = self.data_dir()
            x = None
            if d is not None:
                try:
                    x = load_card_set(
                        d,
                        self.card,
                        folds=folds_if_split(d, self.opts.validation_folds),
                        limit=self.opts.verify_records,
                        spread=True,
                        labelled=False,
                    ).x
                except BadInputError:
                    x = None
            if x is None or len(x) == 0:
                self._verification = synthetic_card_input(self.card, batch=8), False
            else:
                self._verification = x, True
        return self._verification

    def verification_ids(self) -> list[str]:
        d = self.data_dir()
        if d is None:
            return []
        try:
            folds = folds_if_split(d, self.opts.validation_folds)
            return [p.name for p in select_paths(d, folds, self.opts.verify_records, True)]
        except BadInputError:
            return []
