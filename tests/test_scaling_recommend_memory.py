"""``recommend --max-mb``: a memory cap over measured peaks; unmeasured variants are named, not
assumed to fit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers_gate import result_row, run_doc
from helpers_scaling import cli

from ecgbench.bench.store.database import append_to_store
from ecgbench.errors import BadInputError
from ecgbench.scaling.recommend import memory_fit


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "model": ["small", "compile-heavy", "big", "unmeasured"],
            "backend": ["openvino"] * 4,
            "median_ms": [1.0, 1.0, 1.0, 1.0],
            "challenge_score": [0.5, 0.6, 0.7, 0.9],
            "peak_rss_compile_mb": [20.0, 300.0, 150.0, np.nan],
            "peak_rss_infer_mb": [10.0, 30.0, 400.0, np.nan],
        }
    )


def test_the_cap_is_on_the_larger_of_the_compile_and_inference_peaks() -> None:
    m = memory_fit(frame(), 100)
    assert list(m.fits["model"]) == ["small"] and list(m.fits["peak_rss_mb"]) == [20.0]
    assert m.too_big == ["compile-heavy openvino", "big openvino"]
    assert m.not_measured == ["unmeasured openvino"]
    assert list(memory_fit(frame(), 300).fits["model"]) == ["small", "compile-heavy"]


def test_a_store_without_memory_columns_has_nothing_measured() -> None:
    f = frame().drop(columns=["peak_rss_compile_mb", "peak_rss_infer_mb"])
    m = memory_fit(f, 1e9)
    assert m.fits.empty and len(m.not_measured) == 4


@pytest.mark.parametrize("bad", [0, -5, float("nan")])
def test_a_cap_that_is_not_positive_is_refused(bad: float) -> None:
    with pytest.raises(BadInputError, match="--max-mb must be > 0"):
        memory_fit(frame(), bad)


def test_recommend_max_mb_on_the_command_line(tmp_path: Path) -> None:
    rows = []
    for i, (model, score, peak) in enumerate(
        (("small", 0.5, 10.0), ("big", 0.7, 500.0), ("unmeasured", 0.9, None))
    ):
        r = result_row(model, 1.0 + i, seed=i)
        r.accuracy.challenge_score = score
        r.footprint.peak_rss_compile_mb = r.footprint.peak_rss_infer_mb = peak
        rows.append(r)
    store = tmp_path / "store"
    append_to_store(run_doc(rows), store)
    common = ("recommend", "--store", store, "--precision", "fp32", "--budget-ms", "100")
    text = " ".join(cli(*common).replace("│", " ").split())
    assert "100 unmeasured openvino" in text  # without a cap: the best score
    text = " ".join(cli(*common, "--max-mb", "100").replace("│", " ").split())
    assert "100 small openvino" in text and "peak RSS ≤ 100 MB" in text
    assert "over 100 MB (left out): big openvino" in text
    assert "memory not measured (left out;" in text and "unmeasured openvino" in text
    cli(*common, "--max-mb=-1", code=2)
    cli("recommend", "--store", tmp_path / "absent", "--max-mb", "0", code=2)  # before the store
