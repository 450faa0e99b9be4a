"""Shared material for the export, backend and benchmark tests.

A tiny ConvNeXt-1D checkpoint at 100 Hz (input [1, 12, 1000]), a folder of synthetic 12-lead records
written with wfdb (the calibration records that exist anywhere), and one export of every variant per
test session: the ONNX dynamo export alone costs ~10 s, so it happens once and every test file reads
the same cache. conftest's session fixture ``tiny`` builds it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from conftest import (
    PTBXL,
    SHARED,
    TINY,
    make_checkpoint,
    synthetic_uv,
    write_dat_record,
    write_metadata,
)

from ecgbench.checkpoint import load_checkpoint, save_checkpoint
from ecgbench.data.preprocess import Preprocessing
from ecgbench.data.synthetic import synthetic_input
from ecgbench.export.build import ExportedVariant, ExportOptions
from ecgbench.export.pipeline import ModelExporter
from ecgbench.export.quantize import QuantSettings
from ecgbench.export.verify import Verification
from ecgbench.train.evaluate import predict_logits

TINY_PP = Preprocessing(fs=100.0, eval_seconds=10.0, crop_samples=256)
TINY_SAMPLES = 1000  # 10 s at 100 Hz
TINY_NAME = "tiny_bench"
WEIGHTS = SHARED / "physionet2021" / "weights.csv"
SYNTH_QUANT = QuantSettings(subset_size=8)
ALL_VARIANTS = (
    ("openvino", "fp32"),
    ("openvino", "fp16"),
    ("openvino", "int8"),
    ("onnx", "fp32"),
    ("onnx", "int8"),
)


def needs_real_data() -> pytest.MarkDecorator:
    missing = [p for p in (PTBXL, WEIGHTS) if not p.exists()]
    return pytest.mark.skipif(
        bool(missing),
        reason="real records / Challenge weights not found at "
        + ", ".join(map(str, missing))
        + " (third-party material in ../shared or $ECGBENCH_SHARED)",
    )


def reference_logits(ckpt_path: Path, x: np.ndarray) -> np.ndarray:
    """The PyTorch FP32 logits every backend must reproduce."""
    return predict_logits(load_checkpoint(ckpt_path).build_model(), x)


def tiny_input(batch: int = 1, seed: int = 0) -> np.ndarray:
    return synthetic_input(TINY_PP, batch=batch, seed=seed)


def write_record_folder(d: Path, n: int = 10, metadata: bool = True) -> list[str]:
    """``n`` synthetic 10 s 12-lead records (WFDB .hea + .dat via wfdb.wrsamp), 500 Hz and 100 Hz.

    With ``metadata``, folds 1-8 hold the first ``n - 2`` records and fold 9 the last two, as the
    calibration (train folds) and verification (validation fold) code expects.
    """
    names = []
    for i in range(n):
        fs = 500 if i % 2 == 0 else 100
        sig = synthetic_uv(fs=fs, seconds=10.0, rate_hz=1.0 + 0.15 * i, seed=40 + i)
        name = f"SYN{i:03d}"
        write_dat_record(d, name, sig.T / 1000.0, fs=fs, dx=["426783006"])
        names.append(name)
    if metadata:
        write_metadata(d, {nm: (i % 8) + 1 if i < n - 2 else 9 for i, nm in enumerate(names)})
    return names


def link_real_subset(d: Path, n: int = 24, fold: int = 10) -> Path:
    """A folder of symlinks to ``n`` real records of one fold (no metadata: score all of it)."""
    import pandas as pd

    meta = pd.read_csv(PTBXL / "metadata.csv", dtype={"record": str})
    names = sorted(meta.loc[meta["strat_fold"] == fold, "record"])[:n]
    d.mkdir(parents=True, exist_ok=True)
    for name in names:
        for ext in (".hea", ".mat"):
            (d / f"{name}{ext}").symlink_to(PTBXL / f"{name}{ext}")
    return d


def export_options(cache: Path, records: Path | None, **kw: object) -> ExportOptions:
    base: dict[str, object] = {
        "cache_dir": cache,
        "calibration_dir": records,
        "quant": SYNTH_QUANT,
        "verify_records": 8,
        "show_progress": False,
    }
    base.update(kw)
    return ExportOptions(**base)  # type: ignore[arg-type]


@dataclass
class TinySession:
    root: Path
    ckpt: Path
    cache: Path
    records: Path  # synthetic calibration records (folds 1-9)
    empty: Path  # an empty folder, for $ECGBENCH_DATA when no records may be found
    exporter: ModelExporter
    variants: dict[tuple[str, str], ExportedVariant] = field(default_factory=dict)

    def opts(self, **kw: object) -> ExportOptions:
        return export_options(self.cache, self.records, **kw)

    def artifact(self, fmt: str, precision: str) -> Path:
        return self.variants[(fmt, precision)].path


def build_tiny_session(factory: pytest.TempPathFactory) -> TinySession:
    """Every variant of the tiny checkpoint (INT8 calibrated on the synthetic records) in one cache;
    built once per test session by conftest's ``tiny`` fixture."""
    root = factory.mktemp("tiny_session")
    ckpt = root / f"{TINY_NAME}.pt"
    save_checkpoint(
        make_checkpoint(
            TINY,
            preprocessing=TINY_PP,
            decisive=True,
            metrics={"val": {"challenge_score": 0.1, "auroc": 0.5}},
            command="tests: tiny checkpoint",
        ),
        ckpt,
    )
    records = root / "records"
    write_record_folder(records)
    empty = root / "empty"
    empty.mkdir()
    cache = root / "cache"
    ex = ModelExporter(TINY_NAME, load_checkpoint(ckpt), ckpt, export_options(cache, records))
    s = TinySession(root, ckpt, cache, records, empty, ex)
    for fmt, prec in ALL_VARIANTS:
        s.variants[(fmt, prec)] = ex.variant(fmt, prec)
    return s


def exporter(s: TinySession, opts: ExportOptions) -> ModelExporter:
    """A new exporter of the tiny checkpoint. It is handed the session's converted OpenVINO graph:
    the conversion is the same pure function of the same checkpoint and costs seconds; what these
    tests check (cache keys, lookups, rebuilds) all happens after it."""
    ex = ModelExporter(TINY_NAME, load_checkpoint(s.ckpt), s.ckpt, opts)
    ex.builder._ov_fp32 = s.exporter.builder.ov_fp32_model()
    return ex


def one_line(e: pytest.ExceptionInfo[BaseException]) -> str:
    """The message of a user-facing error: present, and on one line."""
    msg = str(e.value)
    assert msg and "\n" not in msg, msg
    return msg


@dataclass
class RealExports:
    """Every variant of the tiny checkpoint exported and verified with the real records."""

    opts: ExportOptions
    variants: dict[tuple[str, str], ExportedVariant]
    checks: dict[tuple[str, str], Verification]
    eval_dir: Path  # symlinks to 24 real records of fold 10


_REAL: RealExports | None = None


def real_exports(s: TinySession, factory: pytest.TempPathFactory) -> RealExports:
    """Calibrated on 16 real records of the train folds, verified on 32 of the validation fold;
    memoised like the tiny session, for the export and the accuracy tests alike."""
    global _REAL
    if _REAL is None:
        opts = ExportOptions(
            calibration_dir=PTBXL,
            verify_records=32,
            cache_dir=s.cache,
            quant=QuantSettings(subset_size=16),
            show_progress=False,
        )
        ex = ModelExporter(TINY_NAME, load_checkpoint(s.ckpt), s.ckpt, opts)
        variants = {(f, p): ex.variant(f, p) for f, p in ALL_VARIANTS}
        checks = {k: ex.verify(v) for k, v in variants.items()}
        eval_dir = link_real_subset(factory.mktemp("real_eval"), n=24)
        _REAL = RealExports(opts, variants, checks, eval_dir)
    return _REAL


def subprocess_env(s: TinySession, **extra: str) -> dict[str, str]:
    """Environment for an ``ecgbench`` child: the session's cache, no zoo, no data, quiet."""
    zoo = s.root / "no_zoo"
    zoo.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "ECGBENCH_CACHE": str(s.cache),
        "ECGBENCH_DATA": str(s.empty),
        "ECGBENCH_ZOO": str(zoo),
        "ECGBENCH_QUIET": "1",
        "COLUMNS": "200",
    }
    env.update(extra)
    return env
