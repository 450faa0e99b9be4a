"""Challenge metrics of one exact variant (model × backend × precision) on a record folder."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ecgbench.accuracy.crossfit import crossfit_folds, crossfit_outputs
from ecgbench.accuracy.replicates import store_variant_replicates
from ecgbench.accuracy.scores import RecordOutputs, VariantScores
from ecgbench.backends import LoadSpec, backend_class, format_of, get_backend, plan_execution
from ecgbench.data.classes import load_weights
from ecgbench.data.dataset import load_dataset
from ecgbench.errors import BadInputError
from ecgbench.export.build import ExportOptions
from ecgbench.export.digest import artifact_digest
from ecgbench.export.pipeline import ModelExporter
from ecgbench.host import cpu_description, device_arithmetic
from ecgbench.metrics.bootstrap import PairedDrop, bootstrap_scores, paired_drop
from ecgbench.metrics.challenge import score_arrays
from ecgbench.metrics.scoring_io import write_output_file
from ecgbench.precision import executed_label
from ecgbench.progress import progress_bar
from ecgbench.train.evaluate import sigmoid
from ecgbench.train.thresholds import tune_thresholds
from ecgbench.zoo import Zoo, checkpoint_from

if TYPE_CHECKING:
    from ecgbench.backends import Backend
    from ecgbench.checkpoint import Checkpoint
    from ecgbench.data.causal import Streaming
    from ecgbench.data.dataset import EcgSet
    from ecgbench.data.preprocess import Preprocessing
    from ecgbench.precision import Execution

CI_LEVEL = 0.95  # the JSON and manifest keys say "ci95"


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
    bootstrap: int = 1000,
    seed: int = 0,
    thresholds: str = "checkpoint",
    limit: int | None = None,
    causal: Streaming | None = None,
    require_labels: bool = True,
) -> VariantScores:
    """Score exactly one variant as it executes on this machine's CPU (``executed`` says how).

    ``bootstrap`` resamples of the records give the scores' intervals (0: none); the per-record
    outputs stay on the result so that variants can be compared record by record.
    ``thresholds="crossfit"``: validation-fold records are decided with cross-fitted thresholds
    (:mod:`ecgbench.accuracy.crossfit`), the others with the checkpoint's. ``limit``: at most
    that many records, evenly spread over the selection (the gate's accuracy guard).
    ``causal``: the records preprocessed as a live stream would (``stream-accuracy``).
    ``require_labels``: a folder whose records carry none of the scored classes is refused (a
    score of it would be 0 by construction); the gate's guard compares decisions without them.
    """
    fmt = format_of(backend)  # an unknown backend is bad input before anything loads
    zoo = zoo or Zoo()
    weights = load_weights(weights_path)
    name, ckpt, ckpt_path = checkpoint_from(model, zoo)
    ex = plan_execution(backend, precision, device_arithmetic("CPU"), int8_rest)
    opts = opts or ExportOptions(show_progress=show_progress)
    d = Path(data_dir)
    crossfit = crossfit_folds(thresholds, folds, ckpt.data, d)  # None: checkpoint thresholds
    if folds and not (d / "metadata.csv").is_file():
        folds = None  # a user's folder without folds: evaluate all of it
    data = _load_records(d, ckpt.preprocessing, folds, limit, show_progress, causal, require_labels)
    artifact = _artifact_of(backend, fmt, ex, name, ckpt, ckpt_path, opts, zoo)
    b = get_backend(backend)
    x = data.eval_array()
    info = b.load(LoadSpec(artifact=artifact, samples=x.shape[-1], inference_precision=ex.hint))
    probs = _probabilities(b, x, f"{name} {backend} {precision}", show_progress)
    thr = np.asarray(ckpt.thresholds)
    binary = probs >= thr
    labels = data.labels.astype(bool)
    scope = None
    if crossfit is not None:
        cf = (data.folds, crossfit, tune_thresholds, bootstrap, seed, CI_LEVEL)
        binary, scope = crossfit_outputs(labels, probs, weights, thr, *cf)
    scores = score_arrays(labels, binary, probs, weights)
    intervals = None
    if bootstrap > 0:
        intervals = bootstrap_scores(labels, binary, probs, weights, bootstrap, seed, CI_LEVEL)
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
        executed=executed_label(precision, info.inference_precision, info.int8_layers),
        measured_on=cpu_description(),
        intervals=intervals,
        outputs=RecordOutputs(tuple(data.names), labels, binary, probs, weights),
        crossfit=scope,
    )


def _load_records(
    d: Path,
    pp: Preprocessing,
    folds: tuple[int, ...] | None,
    limit: int | None,
    show_progress: bool,
    causal: Streaming | None,
    require_labels: bool,
) -> EcgSet:
    """The records to score, refused when none is usable or none carries a scored label."""
    data = load_dataset(
        d,
        pp,
        folds=folds,
        limit=limit,
        min_duration_s=1.0,
        show_progress=show_progress,
        spread=limit is not None,
        causal=causal,
    )
    if len(data) == 0:
        raise BadInputError(f"no usable record in {d}")
    if require_labels and not data.labels.any():
        raise BadInputError(
            f"no record in {d} carries a label (#Dx) of the {data.labels.shape[1]} scored classes: "
            "a score needs labels (`ecgbench gate --data` and `stream-accuracy` compare decisions "
            "without them)"
        )
    return data


def _artifact_of(
    backend: str,
    fmt: str,
    ex: Execution,
    name: str,
    ckpt: Checkpoint,
    ckpt_path: Path,
    opts: ExportOptions,
    zoo: Zoo,
) -> Path:
    """The file the backend loads: the checkpoint itself, or its exported (cached) variant."""
    if backend_class(backend).RUNS_CHECKPOINT:
        return ckpt_path
    exporter = ModelExporter(name, ckpt, ckpt_path, opts, zoo.entries.get(name))
    return exporter.variant(fmt, ex.artifact).path


def _probabilities(b: Backend, x: np.ndarray, label: str, show_progress: bool) -> np.ndarray:
    """Every record through the loaded backend one at a time (then closed), as probabilities."""
    logits = []
    with progress_bar(show_progress) as bar:
        task = bar.add_task(label, total=len(x))
        for i in range(len(x)):
            logits.append(b.infer(x[i : i + 1]))
            bar.advance(task)
    b.close()
    return sigmoid(np.concatenate(logits).astype(np.float64))


def drop_against(
    ref: VariantScores, vs: VariantScores, n_boot: int = 1000, seed: int = 0
) -> tuple[PairedDrop, PairedDrop]:
    """``ref`` − ``vs`` of the Challenge score and AUROC, paired on the records both scored."""
    a, b = ref.outputs, vs.outputs
    if a is None or b is None or a.names != b.names:
        raise BadInputError(
            f"{ref.key} and {vs.key} were not scored on the same records; no paired drop"
        )
    return paired_drop(
        a.labels, a.binary, a.probs, b.binary, b.probs, a.weights, n_boot, seed, CI_LEVEL
    )


class Fp32Pairing:
    """Pairs each variant with the FP32 of its model and backend scored in the same call.

    Variants may arrive in any order: one that comes before its FP32 waits for it.
    """

    def __init__(self, n_boot: int = 1000, seed: int = 0) -> None:
        self.n_boot, self.seed = n_boot, seed
        self._refs: dict[tuple[str, str], VariantScores] = {}
        self._waiting: dict[tuple[str, str], list[VariantScores]] = {}

    def add(self, vs: VariantScores) -> list[VariantScores]:
        """The variants whose ``drop_vs_fp32`` ``vs`` completed: itself, or those that waited."""
        if self.n_boot < 1 or vs.outputs is None:
            return []
        key = (vs.model, vs.backend)
        if vs.precision == "fp32":
            self._refs[key] = vs
            done = self._waiting.pop(key, [])
        elif key in self._refs:
            done = [vs]
        else:
            self._waiting.setdefault(key, []).append(vs)
            return []
        for v in done:
            v.drop_vs_fp32 = drop_against(self._refs[key], v, self.n_boot, self.seed)
        return done


def store_variant_scores(zoo: Zoo, vs: VariantScores, command: str) -> None:
    """Record a variant's fold metrics in the zoo manifest, where ``run`` and the report join them."""
    with zoo.editing():  # under the manifest's lock, on its latest version
        e = zoo.get(vs.model)
        e.variants.pop(f"{vs.backend}-{vs.precision}", None)  # written before keys named what ran
        e.variants[vs.key] = {**vs.to_dict(), "command": command}
        e.variants[vs.key].pop("model", None)
        digest = artifact_digest(vs.artifact) if vs.artifact else None
        if digest:  # the score belongs to these exact bytes (export/digest.py)
            e.variants[vs.key]["artifact_sha256"] = digest
    store_variant_replicates(zoo, vs)  # the sidecar: ties with any variant, decided later
