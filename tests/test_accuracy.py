"""Accuracy of exact variants: with the real records in ../shared, every variant of the tiny
checkpoint scored as it executes, with its bootstrap intervals; FP32 on every backend scores as
PyTorch does; each variant pairs with the FP32 of its model and backend, whatever the order."""

from __future__ import annotations

import numpy as np
import pytest
from helpers_export import (
    TINY_NAME,
    WEIGHTS,
    RealExports,
    TinySession,
    needs_real_data,
    real_exports,
)

from ecgbench.accuracy.evaluate import (
    Fp32Pairing,
    RecordOutputs,
    VariantScores,
    drop_against,
    evaluate_variant,
)
from ecgbench.data.classes import SCORED_CLASSES, Weights
from ecgbench.errors import BadInputError
from ecgbench.metrics.challenge import score_arrays
from ecgbench.zoo import Zoo


@pytest.fixture(scope="module")
def real(tiny: TinySession, tmp_path_factory: pytest.TempPathFactory) -> RealExports:
    return real_exports(tiny, tmp_path_factory)


@needs_real_data()
def test_real_records_evaluate_every_variant(real: RealExports) -> None:
    opts, variants, eval_dir = real.opts, real.variants, real.eval_dir
    ckpt = opts.cache_dir.parent / f"{TINY_NAME}.pt"
    scores, results = {}, {}
    for backend, prec in (
        ("torch", "fp32"),
        ("openvino", "fp32"),
        ("openvino", "fp16"),
        ("openvino", "int8"),
        ("onnxruntime", "fp32"),
        ("onnxruntime", "int8"),
    ):
        vs = evaluate_variant(
            str(ckpt),
            backend,
            prec,
            eval_dir,
            opts=opts,
            weights_path=str(WEIGHTS),
            zoo=Zoo(eval_dir / "no_zoo"),
            show_progress=False,
        )
        d = vs.to_dict()
        keys = ("challenge_score", "auroc", "auprc", "accuracy", "f_measure")
        assert all(k in d for k in keys), d
        assert isinstance(d["challenge_score"], float) and np.isfinite(d["challenge_score"])
        assert 0.0 <= d["accuracy"] <= 1.0
        assert vs.n_records == 24 and d["model"] == TINY_NAME and d["folds"] == []
        for m in ("challenge_score", "auroc"):
            lo, hi = d[f"{m}_ci95"]
            assert lo <= hi and lo < 1.0, (m, d)
        assert d["bootstrap"] == {"resamples": 1000, "seed": 0}
        if backend != "torch":
            fmt = "openvino" if backend == "openvino" else "onnx"
            assert vs.artifact == str(variants[(fmt, prec)].path)
        scores[(backend, prec)] = d
        results[(backend, prec)] = vs
    ref = scores[("torch", "fp32")]
    for k in (("openvino", "fp32"), ("onnxruntime", "fp32")):
        for m in ("challenge_score", "accuracy", "f_measure"):
            assert scores[k][m] == pytest.approx(ref[m], abs=1e-9, nan_ok=True), (k, m)
        assert scores[k]["auroc"] == pytest.approx(ref["auroc"], abs=1e-3, nan_ok=True)
        assert scores[k]["challenge_score_ci95"] == ref["challenge_score_ci95"]  # same decisions
    pairing = Fp32Pairing()
    for k in (("openvino", "int8"), ("openvino", "fp16"), ("openvino", "fp32")):
        pairing.add(results[k])
    drops = results[("openvino", "int8")].to_dict()["drop_vs_fp32"]
    assert set(drops) == {"challenge_score", "auroc"}
    assert "drop_vs_fp32" in results[("openvino", "fp16")].to_dict()
    common = {"opts": opts, "weights_path": str(WEIGHTS), "show_progress": False}
    with pytest.raises(BadInputError):
        evaluate_variant(
            str(ckpt), "torch", "int8", eval_dir, zoo=Zoo(eval_dir / "no_zoo"), **common
        )
    with pytest.raises(BadInputError):
        evaluate_variant(str(ckpt), "tensorrt", "fp32", eval_dir, **common)


# --------------------------------------------------------------------------- pairing with FP32
def fake_variant(
    backend: str, precision: str, flip: float, names: tuple[str, ...] = ()
) -> VariantScores:
    """A scored variant without a model: FP32's outputs with a share ``flip`` of decisions flipped."""
    rng = np.random.default_rng(0)
    n, c = 60, len(SCORED_CLASSES)
    labels = rng.random((n, c)) < 0.2
    probs = np.clip(0.4 * labels + 0.6 * rng.random((n, c)), 0, 1)
    flips = np.random.default_rng(1).random((n, c)) < flip
    binary = (probs >= 0.5) ^ flips
    probs = np.where(flips, 1.0 - probs, probs)
    w = Weights(tuple(SCORED_CLASSES), np.eye(c))
    outputs = RecordOutputs(names or tuple(f"R{i}" for i in range(n)), labels, binary, probs, w)
    return VariantScores(
        model="m",
        backend=backend,
        precision=precision,
        data="d",
        folds=[],
        n_records=n,
        scores=score_arrays(labels, binary, probs, w),
        executed="f32",
        outputs=outputs,
    )


def test_each_variant_pairs_with_the_fp32_of_its_backend_in_any_order() -> None:
    pairing = Fp32Pairing(n_boot=200)
    int8 = fake_variant("openvino", "int8", flip=0.3)
    assert pairing.add(int8) == [] and not int8.drop_vs_fp32  # waits for its FP32
    other = fake_variant("onnxruntime", "fp32", flip=0.0)
    assert pairing.add(other) == []
    fp32 = fake_variant("openvino", "fp32", flip=0.0)
    assert pairing.add(fp32) == [int8] and not fp32.drop_vs_fp32
    assert [d.verdict for d in int8.drop_vs_fp32] == ["drop", "drop"]
    fp16 = fake_variant("openvino", "fp16", flip=0.0)
    assert pairing.add(fp16) == [fp16]
    assert [d.verdict for d in fp16.drop_vs_fp32] == ["tie", "tie"]
    doc = fp16.to_dict()["drop_vs_fp32"]["challenge_score"]
    assert doc == {"point": 0.0, "ci95": [0.0, 0.0], "distinguishable": False}
    assert Fp32Pairing(n_boot=0).add(fake_variant("openvino", "fp16", 0.1)) == []


def test_a_paired_drop_needs_the_same_records() -> None:
    a = fake_variant("openvino", "fp32", 0.0)
    b = fake_variant("openvino", "int8", 0.1, names=tuple(f"X{i}" for i in range(60)))
    with pytest.raises(BadInputError, match="same records"):
        drop_against(a, b)
