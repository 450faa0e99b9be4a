"""``ecgbench data check``: what is in a record folder, and what is wrong with it."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ecgbench.data.classes import ABBREVIATIONS, SCORED_CLASSES, code_to_class_index
from ecgbench.data.folds import load_folds
from ecgbench.data.records import RecordError, iter_records, list_records
from ecgbench.errors import BadInputError
from ecgbench.progress import progress_bar


@dataclass
class FolderReport:
    directory: Path
    n_headers: int
    n_usable: int
    class_counts: dict[str, int]  # scored class -> usable records carrying it
    fold_counts: dict[int, int]
    sampling_rates: dict[float, int]
    problems: list[RecordError] = field(default_factory=list)
    unscored: int = 0  # usable records with no scored class

    @property
    def ok(self) -> bool:
        return self.n_usable > 0


def check_folder(
    directory: str | os.PathLike[str], min_duration_s: float = 0.0, show_progress: bool = True
) -> FolderReport:
    d = Path(directory)
    if not d.is_dir():
        raise BadInputError(f"data folder not found: {d}")
    paths = list_records(d)
    folds = load_folds(d) or {}
    index = code_to_class_index()
    classes: Counter[str] = Counter()
    fold_counts: Counter[int] = Counter()
    rates: Counter[float] = Counter()
    problems: list[RecordError] = []
    usable = unscored = 0
    with progress_bar(show_progress) as bar:
        task = bar.add_task(f"checking {d.name}", total=len(paths))
        for item in iter_records(paths, min_duration_s=min_duration_s):
            bar.advance(task)
            if isinstance(item, RecordError):
                problems.append(item)
                continue
            usable += 1
            rates[item.fs] += 1
            hit = {SCORED_CLASSES[index[c]] for c in item.dx if c in index}
            classes.update(hit)
            unscored += not hit
            if item.name in folds:
                fold_counts[folds[item.name]] += 1
    return FolderReport(
        directory=d,
        n_headers=len(paths),
        n_usable=usable,
        class_counts={c: classes.get(c, 0) for c in SCORED_CLASSES},
        fold_counts=dict(sorted(fold_counts.items())),
        sampling_rates=dict(rates),
        problems=problems,
        unscored=unscored,
    )


__all__ = ["ABBREVIATIONS", "FolderReport", "check_folder"]
