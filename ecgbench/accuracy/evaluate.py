"""Challenge metrics of one exact variant (model × backend × precision) on a record folder."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ecgbench.backends import LoadSpec, format_of, get_backend
from ecgbench.data.classes import load_weights
from ecgbench.data.dataset import load_dataset
from ecgbench.errors import BadInputError
from ecgbench.export.build import ExportOptions
from ecgbench.export.pipeline import ModelExporter
from ecgbench.host import cpu_description, device_arithmetic
from ecgbench.metrics.challenge import ChallengeScores, score_arrays
from ecgbench.metrics.scoring_io import write_output_file
from ecgbench.precision import executed_label, plan_execution
from ecgbench.progress import progress_bar
from ecgbench.train.evaluate import sigmoid
from ecgbench.zoo import Zoo, checkpoint_from, variant_score_key


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
    executed: str | None = None  # what ran: f32, bf16, f16, int8+f32, int8+bf16
    # The CPU that ran it: INT8 kernels differ by ISA (AVX2 / VNNI / AMX), and so can the score.
    measured_on: str = ""

    @property
    def key(self) -> str:
        return variant_score_key(self.backend, self.precision, self.executed or "?")

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "backend": self.backend,
            "precision": self.precision,
            "executed": self.executed,
            "measured_on": self.measured_on,
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
    int8_rest: str = "f32",
) -> VariantScores:
    """Score exactly one variant as it executes on this machine's CPU (``executed`` says how)."""
    fmt = format_of(backend)  # an unknown backend is bad input before anything loads
    zoo = zoo or Zoo()
    weights = load_weights(weights_path)
    name, ckpt, ckpt_path = checkpoint_from(model, zoo)
    ex = plan_execution(backend, precision, device_arithmetic("CPU"), int8_rest)
    opts = opts or ExportOptions(show_progress=show_progress)
    d = Path(data_dir)
    if folds and not (d / "metadata.csv").is_file():
        folds = None  # a user's folder without folds: evaluate all of it
    data = load_dataset(d, ckpt.preprocessing, folds=folds, min_duration_s=1.0,
                        show_progress=show_progress)  # fmt: skip
    if len(data) == 0:
        raise BadInputError(f"no usable record in {d}")
    if fmt == "torch":
        artifact = ckpt_path
    else:
        exporter = ModelExporter(name, ckpt, ckpt_path, opts, zoo.entries.get(name))
        artifact = exporter.variant(fmt, ex.artifact).path
    b = get_backend(backend)
    x = data.eval_array()
    info = b.load(LoadSpec(artifact=artifact, samples=x.shape[-1], inference_precision=ex.hint))
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
        executed=executed_label(precision, info.inference_precision),
        measured_on=cpu_description(),
    )


def store_variant_scores(zoo: Zoo, vs: VariantScores, command: str) -> None:
    """Record a variant's fold metrics in the zoo manifest, where ``run`` and the report join them."""
    e = zoo.get(vs.model)
    e.variants.pop(f"{vs.backend}-{vs.precision}", None)  # written before keys named what ran
    e.variants[vs.key] = {**vs.to_dict(), "command": command}
    e.variants[vs.key].pop("model", None)
    zoo.save()
