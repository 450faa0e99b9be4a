"""Challenge metrics of one exact variant (model × backend × precision) on a record folder."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ecgbench.backends.base import LoadSpec, get_backend
from ecgbench.data.classes import load_weights
from ecgbench.data.dataset import load_dataset
from ecgbench.errors import BadInputError
from ecgbench.export.pipeline import ExportOptions, ModelExporter
from ecgbench.metrics.challenge import ChallengeScores, score_arrays
from ecgbench.metrics.scoring_io import write_output_file
from ecgbench.progress import progress_bar
from ecgbench.train.evaluate import sigmoid
from ecgbench.zoo import Zoo, checkpoint_from

BACKEND_FORMAT = {"openvino": "openvino", "onnxruntime": "onnx", "torch": "torch"}


@dataclass
class VariantScores:
    model: str
    backend: str
    precision: str
    data: str
    folds: list[int]
    n_records: int
    scores: ChallengeScores
    skipped: list[str] = field(default_factory=list)
    artifact: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "backend": self.backend,
            "precision": self.precision,
            "data": self.data,
            "folds": self.folds,
            "n_records": self.n_records,
            **self.scores.to_json_dict(),
        }


def evaluate_variant(
    model: str,
    backend: str,
    precision: str,
    data_dir: str | os.PathLike[str],
    folds: tuple[int, ...] | None = None,
    opts: ExportOptions | None = None,
    outputs_dir: str | os.PathLike[str] | None = None,
    weights_path: str | None = None,
    zoo: Zoo | None = None,
    show_progress: bool = True,
) -> VariantScores:
    if backend not in BACKEND_FORMAT:
        raise BadInputError(f"unknown backend {backend!r}; use {', '.join(BACKEND_FORMAT)}")
    zoo = zoo or Zoo()
    weights = load_weights(weights_path)
    name, ckpt, ckpt_path = checkpoint_from(model, zoo)
    opts = opts or ExportOptions(show_progress=show_progress)
    d = Path(data_dir)
    if folds and not (d / "metadata.csv").is_file():
        folds = None  # a user's folder without folds: evaluate all of it
    data = load_dataset(d, ckpt.preprocessing, folds=folds, min_duration_s=1.0,
                        show_progress=show_progress)  # fmt: skip
    if len(data) == 0:
        raise BadInputError(f"no usable record in {d}")
    if backend == "torch":
        if precision != "fp32":
            raise BadInputError("the torch backend runs the FP32 checkpoint only")
        artifact = ckpt_path
    else:
        ex = ModelExporter(name, ckpt, ckpt_path, opts, zoo.entries.get(name))
        artifact = ex.variant(BACKEND_FORMAT[backend], precision).path
    b = get_backend(backend)
    x = data.eval_array()
    b.load(LoadSpec(artifact=artifact, checkpoint=ckpt_path, samples=x.shape[-1]))
    logits = []
    with progress_bar(show_progress) as bar:
        task = bar.add_task(f"{name} {backend} {precision}", total=len(x))
        for i in range(len(x)):
            logits.append(b.infer(x[i : i + 1]))
            bar.advance(task)
    b.close()
    probs = sigmoid(np.concatenate(logits).astype(np.float64))
    thr = np.asarray(ckpt.thresholds)
    binary = probs >= thr
    scores = score_arrays(data.labels.astype(bool), binary, probs, weights)
    if outputs_dir is not None:
        for rec, bi, pr in zip(data.names, binary, probs, strict=True):
            write_output_file(Path(outputs_dir) / f"{rec}.csv", rec, weights.classes, bi, pr)
    return VariantScores(
        model=name,
        backend=backend,
        precision=precision,
        data=d.name,
        folds=list(folds) if folds else [],
        n_records=len(data),
        scores=scores,
        skipped=[str(p) for p in data.problems],
        artifact=str(artifact),
    )


def store_variant_scores(zoo: Zoo, vs: VariantScores, command: str) -> None:
    """Record a variant's fold metrics in the zoo manifest, where ``run`` and the report join them."""
    e = zoo.get(vs.model)
    key = f"{vs.backend}-{vs.precision}"
    e.variants[key] = {**vs.to_dict(), "command": command}
    e.variants[key].pop("model", None)
    zoo.save()
