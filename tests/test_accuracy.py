"""Accuracy of exact variants: with the real records in ../shared, every variant of the tiny
checkpoint scored as it executes; FP32 on every backend scores as PyTorch does."""

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

from ecgbench.accuracy.evaluate import evaluate_variant
from ecgbench.errors import BadInputError
from ecgbench.zoo import Zoo


@pytest.fixture(scope="module")
def real(tiny: TinySession, tmp_path_factory: pytest.TempPathFactory) -> RealExports:
    return real_exports(tiny, tmp_path_factory)


@needs_real_data()
def test_real_records_evaluate_every_variant(real: RealExports) -> None:
    opts, variants, eval_dir = real.opts, real.variants, real.eval_dir
    ckpt = opts.cache_dir.parent / f"{TINY_NAME}.pt"
    scores = {}
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
        if backend != "torch":
            fmt = "openvino" if backend == "openvino" else "onnx"
            assert vs.artifact == str(variants[(fmt, prec)].path)
        scores[(backend, prec)] = d
    ref = scores[("torch", "fp32")]
    for k in (("openvino", "fp32"), ("onnxruntime", "fp32")):
        for m in ("challenge_score", "accuracy", "f_measure"):
            assert scores[k][m] == pytest.approx(ref[m], abs=1e-9, nan_ok=True), (k, m)
        assert scores[k]["auroc"] == pytest.approx(ref["auroc"], abs=1e-3, nan_ok=True)
    common = {"opts": opts, "weights_path": str(WEIGHTS), "show_progress": False}
    with pytest.raises(BadInputError):
        evaluate_variant(
            str(ckpt), "torch", "int8", eval_dir, zoo=Zoo(eval_dir / "no_zoo"), **common
        )
    with pytest.raises(BadInputError):
        evaluate_variant(str(ckpt), "tensorrt", "fp32", eval_dir, **common)
