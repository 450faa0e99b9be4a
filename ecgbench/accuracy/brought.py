"""Accuracy of a brought model's exact variant, on records labelled as its card says.

Macro AUROC, AUPRC and F1 at the card's thresholds, per class, each with its 95 % bootstrap
interval, and the paired drop of each against the model's FP32 (the file as brought) on the same
resampled records. The Challenge score is computed only when the classes are exactly the
Challenge's 26 scored classes (and its weights.csv is at hand); otherwise it is "n/a", never
guessed through a mapping.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ecgbench.backends import LoadSpec, format_of, get_backend, plan_execution
from ecgbench.bench.results.score_origin import NOT_CHALLENGE
from ecgbench.card import activate
from ecgbench.data.card_input import load_card_set
from ecgbench.errors import BadInputError
from ecgbench.export.brought import brought_exporter
from ecgbench.export.build import ExportOptions
from ecgbench.host import cpu_description, device_arithmetic
from ecgbench.labels import is_challenge_classes
from ecgbench.metrics.bootstrap import PairedDrop
from ecgbench.metrics.card_scores import CardScores, card_paired_drops, card_scores
from ecgbench.precision import executed_label
from ecgbench.zoo import Zoo, variant_score_key

if TYPE_CHECKING:
    from ecgbench.data.causal import Streaming


@dataclass
class BroughtScores:
    model: str
    backend: str
    precision: str
    executed: str | None
    data: str
    folds: list[int]
    n_records: int
    scores: CardScores
    classes: tuple[str, ...]
    challenge_score: float | None  # None: n/a (not the Challenge's classes)
    challenge_ci95: list[float] | None = None
    # the Challenge score of each bootstrap resample: ties with any zoo variant (recommend)
    challenge_replicates: np.ndarray | None = field(default=None, repr=False)
    seed: int = 0
    measured_on: str = ""
    skipped: list[str] = field(default_factory=list)
    artifact: str = ""
    drop_vs_fp32: tuple[PairedDrop, ...] = ()
    labels: np.ndarray | None = field(default=None, repr=False)
    binary: np.ndarray | None = field(default=None, repr=False)
    probs: np.ndarray | None = field(default=None, repr=False)
    names: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return variant_score_key(self.backend, self.precision, self.executed or "?")

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "model": self.model,
            "backend": self.backend,
            "precision": self.precision,
            "executed": self.executed,
            "measured_on": self.measured_on,
            "data": self.data,
            "folds": self.folds,
            "n_records": self.n_records,
            "challenge": "scored" if self.challenge_score is not None else "n/a",
            **self.scores.to_dict(self.classes),
        }
        if self.challenge_score is not None:
            d["challenge_score"] = self.challenge_score
            d["challenge_score_ci95"] = self.challenge_ci95
        if self.drop_vs_fp32:
            d["drop_vs_fp32"] = {
                x.metric: {
                    "point": x.point if math.isfinite(x.point) else None,
                    "ci95": x.bounds(),
                    "distinguishable": x.distinguishable,
                }
                for x in self.drop_vs_fp32
            }
        return d


def _challenge(labels, binary, probs, classes, n_boot, seed, weights_path):
    """(score, interval, replicates) for the Challenge's own classes; Nones otherwise."""
    if not is_challenge_classes(classes):
        return None, None, None
    from ecgbench.data.classes import load_weights
    from ecgbench.metrics.bootstrap import bootstrap_scores
    from ecgbench.metrics.challenge import compute_challenge_metric

    w = load_weights(weights_path)
    cs = float(compute_challenge_metric(w.matrix, labels, binary, w.classes))
    if n_boot < 1:
        return cs, None, None
    iv = bootstrap_scores(labels, binary, probs, w, n_boot, seed)
    return cs, iv.challenge_score.bounds(), iv.challenge_replicates


def evaluate_brought(
    model: str,
    backend: str,
    precision: str,
    data_dir: str | os.PathLike[str],
    folds: tuple[int, ...] | None = None,
    opts: ExportOptions | None = None,
    zoo: Zoo | None = None,
    int8_rest: str = "f32",
    bootstrap: int = 1000,
    seed: int = 0,
    weights_path: str | None = None,
    causal: Streaming | None = None,
    require_labels: bool = True,
) -> BroughtScores:
    """Score one variant of a brought model as it executes on this CPU (``causal``: its
    records preprocessed as a live stream would, :mod:`ecgbench.data.causal`)."""
    fmt = format_of(backend)
    zoo = zoo or Zoo()
    opts = opts or ExportOptions(show_progress=False)
    exporter = brought_exporter(zoo, model, opts)
    card = exporter.card
    ex = plan_execution(backend, precision, device_arithmetic("CPU"), int8_rest)
    d = Path(data_dir)
    if folds and not (d / "metadata.csv").is_file():
        folds = None
    data = load_card_set(d, card, folds=folds, causal=causal)
    if require_labels and not data.labels.any():
        raise BadInputError(
            f"no record in {d} carries any of {model}'s classes ({', '.join(card.classes[:5])}"
            f"{', …' if len(card.classes) > 5 else ''}; labels = {card.labels!r}): nothing to score"
        )
    artifact = exporter.variant(fmt, ex.artifact).path
    b = get_backend(backend)
    spec = LoadSpec(
        artifact=artifact,
        channels=card.channels,
        samples=card.samples,
        layout=card.layout,
        inference_precision=ex.hint,
    )
    info = b.load(spec)
    out = np.concatenate([b.infer(data.x[i : i + 1]) for i in range(len(data))])
    b.close()
    probs = activate(out, card.activation)
    binary = probs >= np.asarray(card.thresholds)
    labels = data.labels.astype(bool)
    cs, cs_ci, reps = _challenge(labels, binary, probs, card.classes, bootstrap, seed, weights_path)
    return BroughtScores(
        model=model,
        backend=backend,
        precision=precision,
        executed=executed_label(precision, info.inference_precision, info.int8_layers),
        data=d.name,
        folds=list(folds) if folds else [],
        n_records=len(data),
        scores=card_scores(labels, binary, probs, bootstrap, seed),
        classes=card.classes,
        challenge_score=cs,
        challenge_ci95=cs_ci,
        challenge_replicates=reps,
        seed=seed,
        measured_on=cpu_description(),
        skipped=[str(p) for p in data.problems],
        artifact=str(artifact),
        labels=labels,
        binary=binary,
        probs=probs,
        names=tuple(data.names),
    )


def pair_with_fp32(
    scored: list[BroughtScores],
    n_boot: int = 1000,
    seed: int = 0,
    weights_path: str | None = None,
) -> None:
    """Each non-FP32 variant's paired drops against the FP32 of its model and backend (and of
    the Challenge score when its classes are the Challenge's)."""
    refs = {(s.model, s.backend): s for s in scored if s.precision == "fp32"}
    for s in scored:
        ref = refs.get((s.model, s.backend))
        if ref is None or s is ref or n_boot < 1 or ref.names != s.names:
            continue
        drops = card_paired_drops(
            ref.labels, (ref.binary, ref.probs), (s.binary, s.probs), n_boot, seed
        )
        if ref.challenge_score is not None:
            from ecgbench.data.classes import load_weights
            from ecgbench.metrics.bootstrap import paired_drop

            w = load_weights(weights_path)
            cs, _ = paired_drop(
                ref.labels, ref.binary, ref.probs, s.binary, s.probs, w, n_boot, seed
            )
            drops = (cs, *drops)
        s.drop_vs_fp32 = drops


def store_brought_scores(zoo: Zoo, bs: BroughtScores, command: str) -> None:
    """Record a variant's scores in the manifest, where ``run`` and ``recommend`` join them."""
    e = zoo.get(bs.model)
    d = {**bs.to_dict(), "command": command}
    d.pop("model", None)
    if bs.challenge_score is None:
        d["note"] = NOT_CHALLENGE
    e.variants[bs.key] = d
    zoo.save()
    from ecgbench.accuracy.replicates import put_replicates
    from ecgbench.metrics.ties import Replicates, records_digest

    reps = None
    if bs.challenge_replicates is not None and bs.challenge_score is not None:
        reps = Replicates(
            values=np.asarray(bs.challenge_replicates, dtype=np.float32),
            point=float(bs.challenge_score),
            seed=bs.seed,
            n_records=len(bs.names),
            records_sha256=records_digest(bs.names),
        )
    put_replicates(zoo, bs.model, bs.key, reps)
