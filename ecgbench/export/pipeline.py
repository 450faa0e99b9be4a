"""Export one zoo model to every requested (format, precision), cached, verified.

Where an artifact comes from, in order: for INT8 without ``--calibration``/``--force``, the INT8
artifact bundled in the zoo (built by ``ecgbench export --zoo`` on real records, sha256 in the
manifest, and the artifact whose accuracy the manifest reports); the export cache; a fresh build. INT8 is never calibrated on synthetic data: with no records at hand and
nothing bundled, it stops with a clear message.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ecgbench.checkpoint import Checkpoint
from ecgbench.data.dataset import EcgSet, load_dataset, select_paths
from ecgbench.data.folds import FoldSplit
from ecgbench.data.synthetic import synthetic_input
from ecgbench.errors import BadInputError, EcgbenchError
from ecgbench.export.cache import CacheEntry, ExportCache, cache_key
from ecgbench.export.onnx_export import OPSET, export_onnx, onnx_smoke_run
from ecgbench.export.openvino_export import convert_to_openvino, save_ir
from ecgbench.export.quantize import QuantSettings, quantize_int8, quantize_onnx_int8
from ecgbench.export.verify import Verification, compare_logits
from ecgbench.fileio import sha256_file
from ecgbench.progress import progress_bar
from ecgbench.zoo import Zoo, ZooEntry

FORMATS = ("openvino", "onnx")
FORMAT_PRECISIONS: dict[str, tuple[str, ...]] = {
    "openvino": ("fp32", "fp16", "int8"),
    # FP16 ONNX is left out on purpose: ONNX Runtime's CPU provider has no FP16 kernels for most of
    # these ops and inserts casts, so it would measure casts, not FP16.
    "onnx": ("fp32", "int8"),
}
DATA_ENV = "ECGBENCH_DATA"


def default_data_dir() -> Path | None:
    """``$ECGBENCH_DATA``, else the development data beside the checkout, else ``None``."""
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV])
    shared = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "ptbxl"
    return shared if shared.is_dir() else None


@dataclass
class ExportOptions:
    cache_dir: Path | None = None
    force: bool = False
    calibration_dir: Path | None = None  # None: the default data dir, if any
    calibration_folds: tuple[int, ...] = FoldSplit().train
    validation_folds: tuple[int, ...] = FoldSplit().val
    quant: QuantSettings = field(default_factory=QuantSettings)
    verify_records: int = 64
    show_progress: bool = True
    use_zoo_bundle: bool = True


@dataclass
class ExportedVariant:
    model: str
    format: str
    precision: str
    path: Path
    key: str
    source: str  # "cache" | "built" | "zoo"
    seconds: float
    meta: dict[str, Any] = field(default_factory=dict)
    verification: Verification | None = None

    @property
    def backend(self) -> str:
        return "openvino" if self.format == "openvino" else "onnxruntime"


def parse_precisions(spec: str, allowed: tuple[str, ...] = ("fp32", "fp16", "int8")) -> list[str]:
    """``"all"`` or a comma list -> precisions; the default ``allowed`` are the exported artifacts."""
    out = (
        list(allowed)
        if spec == "all"
        else [p.strip().lower() for p in spec.split(",") if p.strip()]
    )
    bad = [p for p in out if p not in allowed]
    if bad or not out:
        hint = " (bf16 runs the FP32 artifact: export fp32)" if "bf16" in bad else ""
        raise BadInputError(
            f"unknown precision {', '.join(bad) or spec!r}; use {', '.join(allowed)}, all{hint}"
        )
    return out


def parse_formats(spec: str) -> list[str]:
    out = list(FORMATS) if spec == "all" else [f.strip().lower() for f in spec.split(",")]
    bad = [f for f in out if f not in FORMATS]
    if bad or not out:
        raise BadInputError(f"unknown format {', '.join(bad) or spec!r}; use openvino, onnx, all")
    return out


class ModelExporter:
    """Exports of one checkpoint; holds the reference model, records and in-memory FP32 graphs."""

    def __init__(
        self,
        name: str,
        ckpt: Checkpoint,
        ckpt_path: Path,
        opts: ExportOptions,
        zoo_entry: ZooEntry | None = None,
    ) -> None:
        self.name = name
        self.ckpt = ckpt
        self.ckpt_sha = sha256_file(ckpt_path)
        self.opts = opts
        self.cache = ExportCache(opts.cache_dir)
        self.zoo_entry = zoo_entry
        self.model = ckpt.build_model()
        self.pp = ckpt.preprocessing
        self.example = torch.from_numpy(synthetic_input(self.pp, batch=1))
        self._calib: EcgSet | None = None
        self._verify: tuple[np.ndarray, bool] | None = None
        self._ov_fp32 = None

    # ------------------------------------------------------------------ data
    def _data_dir(self) -> Path | None:
        return self.opts.calibration_dir or default_data_dir()

    def calibration_set(self) -> EcgSet:
        if self._calib is not None:
            return self._calib
        d = self._data_dir()
        if d is None:
            raise EcgbenchError(
                "INT8 needs real calibration records and none are at hand: pass --calibration DIR "
                f"(or set {DATA_ENV}); synthetic calibration is never used"
            )
        folds = self.opts.calibration_folds if (Path(d) / "metadata.csv").is_file() else None
        data = load_dataset(
            d,
            self.pp,
            folds=folds,
            limit=self.opts.quant.subset_size,
            spread=True,
            min_duration_s=1.0,
            show_progress=self.opts.show_progress,
        )
        if len(data) == 0:
            raise BadInputError(f"no usable calibration record in {d}")
        self._calib = data
        return data

    def calibration_id(self) -> dict[str, Any]:
        """Which records calibrate, from their names only: a cache hit reads no record."""
        import hashlib

        d = self._data_dir()
        if d is None:
            self.calibration_set()  # raises the clear "no calibration records" error
        folds = self.opts.calibration_folds if (Path(d) / "metadata.csv").is_file() else None
        paths = select_paths(Path(d), folds, self.opts.quant.subset_size, spread=True)
        h = hashlib.sha256("\n".join(p.name for p in paths).encode()).hexdigest()[:16]
        return {"dir": Path(d).name, "selected": len(paths), "names_sha": h}

    def verification_inputs(self) -> tuple[np.ndarray, bool]:
        """Real records of the validation folds when any are at hand, else the synthetic input."""
        if self._verify is not None:
            return self._verify
        d = self._data_dir()
        x, real = None, False
        if d is not None:
            try:
                folds = self.opts.validation_folds if (d / "metadata.csv").is_file() else None
                data = load_dataset(
                    d, self.pp, folds=folds, limit=self.opts.verify_records, spread=True,
                    min_duration_s=1.0, show_progress=False,
                )  # fmt: skip
                x, real = data.eval_array(), True
            except BadInputError:
                x = None
        if x is None or len(x) == 0:
            x, real = synthetic_input(self.pp, batch=8), False
        self._verify = (x, real)
        return self._verify

    def accuracy_control_inputs(self):
        """Validation-fold records and a Challenge-score function for quantize_with_accuracy_control."""
        from ecgbench.data.classes import load_weights
        from ecgbench.metrics.challenge import compute_challenge_metric
        from ecgbench.train.evaluate import sigmoid

        d = self._data_dir()
        if d is None:
            raise EcgbenchError("--max-drop needs validation records: pass --calibration DIR")
        folds = self.opts.validation_folds if (Path(d) / "metadata.csv").is_file() else None
        val = load_dataset(d, self.pp, folds=folds, min_duration_s=1.0, show_progress=False)
        weights = load_weights(None)
        thr = np.asarray(self.ckpt.thresholds)

        def validate(compiled, items) -> float:
            logits, labels = [], []
            for x, y in items:
                logits.append(np.asarray(compiled(x)[0]))
                labels.append(y)
            probs = sigmoid(np.concatenate(logits).astype(np.float64))
            y = np.stack(labels).astype(bool)
            return compute_challenge_metric(weights.matrix, y, probs >= thr, weights.classes)

        return (val.eval_array(), val.labels), validate

    # ------------------------------------------------------------------ builders
    def ov_fp32_model(self):
        if self._ov_fp32 is None:
            self._ov_fp32 = convert_to_openvino(self.model, self.example)
        return self._ov_fp32

    def settings(self, fmt: str, precision: str) -> dict[str, Any]:
        s: dict[str, Any] = {"input": [12, self.pp.eval_samples], "fs": self.pp.fs}
        if fmt == "onnx":
            s.update(exporter="torch.onnx.export(dynamo=True)", opset=OPSET)
        else:
            s.update(exporter="ov.convert_model", compress_to_fp16=precision == "fp16")
        if precision == "int8":
            s["quant"] = self.opts.quant.to_dict()
            s["calibration"] = self.calibration_id()
        return s

    def _build(self, fmt: str, precision: str, tmp: Path) -> tuple[str, dict[str, Any]]:
        meta: dict[str, Any] = {"model": self.name, "format": fmt, "precision": precision}
        t0 = time.perf_counter()
        if fmt == "openvino" and precision in ("fp32", "fp16"):
            save_ir(self.ov_fp32_model(), tmp / "model.xml", fp16=precision == "fp16")
            main = "model.xml"
        elif fmt == "openvino":  # int8
            calib = self.calibration_set().eval_array()
            # NNCF writes into the rt_info of the model it is given: quantize a copy, so the FP32 /
            # FP16 IR saved later from the same graph stays byte-identical to a fresh export.
            validation, validate_fn = (None, None)
            if self.opts.quant.max_drop is not None:
                validation, validate_fn = self.accuracy_control_inputs()
            q = quantize_int8(
                self.ov_fp32_model().clone(), calib, self.opts.quant, validation, validate_fn
            )
            meta.update(q.accuracy_control)
            save_ir(q.model, tmp / "model.xml", fp16=False)
            meta["calibration_seconds"] = q.seconds
            meta["calibration_records"] = q.calibration_records
            main = "model.xml"
        elif precision == "fp32":  # onnx
            export_onnx(self.model, tmp / "model.onnx", self.example)
            onnx_smoke_run(tmp / "model.onnx", self.example.numpy())
            main = "model.onnx"
        else:  # onnx int8
            import onnx

            fp32 = self.variant("onnx", "fp32")
            calib = self.calibration_set().eval_array()
            t1 = time.perf_counter()
            q = quantize_onnx_int8(str(fp32.path), calib, self.opts.quant)
            meta["calibration_seconds"] = time.perf_counter() - t1
            meta["calibration_records"] = len(calib)
            onnx.save(q, str(tmp / "model.onnx"))
            onnx_smoke_run(tmp / "model.onnx", self.example.numpy())
            main = "model.onnx"
        meta["build_seconds"] = time.perf_counter() - t0
        meta["settings"] = self.settings(fmt, precision)
        meta["checkpoint_sha256"] = self.ckpt_sha
        return main, meta

    def _zoo_bundle(self, fmt: str, precision: str) -> ExportedVariant | None:
        e = self.zoo_entry
        if (
            e is None
            or precision != "int8"
            or self.opts.calibration_dir is not None
            or not self.opts.use_zoo_bundle
        ):
            return None
        a = e.artifacts.get(f"{fmt}-{precision}")
        if not a or a.get("checkpoint_sha256") != self.ckpt_sha:
            return None
        wanted = {k: v for k, v in self.opts.quant.to_dict().items() if v is not None}
        if a.get("settings", {}).get("quant", wanted) != wanted:  # (TOML has no None)
            return None  # other quantization settings asked for (e.g. --max-drop): build them
        from ecgbench.zoo import verify_artifacts

        verify_artifacts(ZooEntry(**{**e.__dict__, "artifacts": {f"{fmt}-{precision}": a}}))
        return ExportedVariant(
            model=self.name,
            format=fmt,
            precision=precision,
            path=e.zoo_dir / a["main"],
            key=a.get("cache_key", ""),
            source="zoo",
            seconds=0.0,
            meta=dict(a),
        )

    def variant(self, fmt: str, precision: str) -> ExportedVariant:
        if fmt not in FORMAT_PRECISIONS:
            raise BadInputError(f"unknown format {fmt!r}; use {', '.join(FORMATS)}")
        if precision not in FORMAT_PRECISIONS[fmt]:
            raise BadInputError(
                f"{fmt} export has no {precision} variant (available: "
                f"{', '.join(FORMAT_PRECISIONS[fmt])})"
            )
        t0 = time.perf_counter()
        if precision == "int8" and not self.opts.force:
            # The zoo's own INT8 artifact (its accuracy is the one the manifest shows) unless the
            # user asks for their own calibration or a rebuild.
            bundled = self._zoo_bundle(fmt, precision)
            if bundled is not None:
                return bundled
        key = cache_key(self.ckpt_sha, fmt, precision, self.settings(fmt, precision))
        entry: CacheEntry | None = None if self.opts.force else self.cache.lookup(key)
        source = "cache"
        if entry is None:
            entry = self.cache.store(key, lambda tmp: self._build(fmt, precision, tmp))
            source = "built"
        return ExportedVariant(
            model=self.name,
            format=fmt,
            precision=precision,
            path=entry.main,
            key=key,
            source=source,
            seconds=time.perf_counter() - t0,
            meta=entry.meta,
        )

    # ------------------------------------------------------------------ verification
    def _verify_cache_path(self, v: ExportedVariant, hint: str | None) -> Path | None:
        """Verification depends only on (artifact, checkpoint, records, arithmetic): cached."""
        import hashlib
        import json

        d = self._data_dir()
        ids: list[str] = []
        if d is not None:
            try:
                folds = self.opts.validation_folds if (d / "metadata.csv").is_file() else None
                ids = [p.name for p in select_paths(d, folds, self.opts.verify_records, True)]
            except BadInputError:
                ids = []
        digest = sha256_file(v.path)
        from ecgbench.export.verify import TOLERANCES
        from ecgbench.host import cpu_description, library_versions

        # what ran depends on the CPU and the runtime, the verdict on the tolerances: all key it
        where = [cpu_description(), library_versions(["openvino"])["openvino"]]
        key = json.dumps(
            [digest, self.ckpt_sha, v.precision, hint, ids, TOLERANCES, where], sort_keys=True
        )
        return (
            self.cache.root
            / "verifications"
            / (hashlib.sha256(key.encode()).hexdigest()[:32] + ".json")
        )

    def default_hint(self, v: ExportedVariant) -> str | None:
        """The arithmetic a variant runs at when nothing else is asked: its own, on this CPU."""
        from ecgbench.host import device_arithmetic
        from ecgbench.precision import plan_execution

        return plan_execution(v.backend, v.precision, device_arithmetic("CPU")).hint

    def verify(
        self, v: ExportedVariant, hint: str | None = None, precision: str | None = None
    ) -> Verification:
        """Check ``v`` against PyTorch FP32, run at ``hint`` (f32 / bf16 / f16).

        ``precision`` is what was asked for (``bf16`` runs the FP32 artifact); it defaults to the
        artifact's own. The tolerance follows what executed.
        """
        import json

        from ecgbench.fileio import atomic_write_json

        hint = hint or self.default_hint(v)
        cached = self._verify_cache_path(v, hint)
        if cached is not None and cached.is_file() and not self.opts.force:
            try:
                v.verification = Verification(**json.loads(cached.read_text()))
                return v.verification
            except (ValueError, TypeError):
                pass
        result = self._verify_now(v, hint, precision or v.precision)
        # A read-only cache still verifies; it just does it every time.
        with contextlib.suppress(OSError):
            atomic_write_json(cached, result.to_dict())
        return result

    def _verify_now(self, v: ExportedVariant, hint: str | None, precision: str) -> Verification:
        from ecgbench.backends.base import LoadSpec, get_backend
        from ecgbench.precision import executed_label
        from ecgbench.train.evaluate import predict_logits

        x, real = self.verification_inputs()
        ref = predict_logits(self.model, x)
        backend = get_backend(v.backend)
        info = backend.load(
            LoadSpec(artifact=v.path, device="CPU", samples=x.shape[-1], inference_precision=hint)
        )
        cand = np.concatenate([backend.infer(x[i : i + 1]) for i in range(len(x))])
        backend.close()
        v.verification = compare_logits(
            ref, cand, np.asarray(self.ckpt.thresholds), precision, real_records=real,
            executed=executed_label(v.precision, info.inference_precision),
        )  # fmt: skip
        return v.verification


def export_models(
    names: list[str],
    formats: list[str],
    precisions: list[str],
    opts: ExportOptions,
    zoo: Zoo | None = None,
    verify: bool = True,
    to_zoo: bool = False,
) -> list[ExportedVariant]:
    """Every (model, format, precision) that exists; FP32 first so INT8 can reuse its graph."""
    from ecgbench.zoo import checkpoint_from

    zoo = zoo or Zoo()
    results: list[ExportedVariant] = []
    parse_formats(",".join(formats))  # an unknown format is bad input, not a KeyError
    jobs = [(f, p) for f in formats for p in precisions if p in FORMAT_PRECISIONS[f]]
    if not jobs:
        raise BadInputError("no variant matches those formats and precisions")
    with progress_bar(opts.show_progress) as bar:
        task = bar.add_task("exporting", total=len(names) * len(jobs))
        for name in names:
            _, ckpt, path = checkpoint_from(name, zoo)
            entry = zoo.entries.get(name)
            ex = ModelExporter(name, ckpt, path, opts, entry)
            for fmt, prec in jobs:
                bar.update(task, description=f"{name} {fmt} {prec}")
                v = ex.variant(fmt, prec)
                if verify:
                    ex.verify(v)
                if to_zoo and prec == "int8" and entry is not None and v.source != "zoo":
                    bundle_into_zoo(zoo, entry, v, ex.ckpt_sha)
                results.append(v)
                bar.advance(task)
    return results


def bundle_into_zoo(zoo: Zoo, entry: ZooEntry, v: ExportedVariant, ckpt_sha: str) -> None:
    """Copy an INT8 artifact into ``models/int8/<name>/`` and record its sha256 in the manifest."""
    rel_dir = Path("int8") / entry.name / v.format
    dest = zoo.root / rel_dir
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    files: dict[str, str] = {}
    stem = v.path.stem
    for p in sorted(v.path.parent.glob(f"{stem}.*")):
        if p.suffix in (".xml", ".bin", ".onnx"):
            shutil.copyfile(p, dest / p.name)
            files[str(rel_dir / p.name)] = sha256_file(dest / p.name)
    entry.artifacts[f"{v.format}-{v.precision}"] = {
        "main": str(rel_dir / v.path.name),
        "files": files,
        "checkpoint_sha256": ckpt_sha,
        "cache_key": v.key,
        "settings": v.meta.get("settings", {}),
        "calibration_seconds": v.meta.get("calibration_seconds", 0.0),
        "command": "ecgbench export --model "
        + entry.name
        + " --precision int8 --format "
        + v.format
        + " --zoo",
    }
    zoo.save()
