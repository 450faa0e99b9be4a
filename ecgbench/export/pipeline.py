"""Export one zoo model to every requested (format, precision), cached, verified.

Where an artifact comes from, in order: for INT8 without ``--calibration``/``--force``, the INT8
artifact bundled in the zoo (built by ``ecgbench export --zoo`` on real records, sha256 in the
manifest, and the artifact whose accuracy the manifest reports); the export cache; a fresh build.
INT8 is never calibrated on synthetic data: with no records at hand and nothing bundled, it stops
with a clear message.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ecgbench.checkpoint import Checkpoint
from ecgbench.data.synthetic import synthetic_input
from ecgbench.errors import BadInputError
from ecgbench.export.build import (
    FORMAT_PRECISIONS,
    ExportedVariant,
    ExportOptions,
    VariantBuilder,
    check_variant,
    parse_formats,
)
from ecgbench.export.bundle import bundle_into_zoo, bundled_variant
from ecgbench.export.cache import (
    CacheEntry,
    ExportCache,
    cache_key,
    load_verification,
    save_verification,
    verification_path,
)
from ecgbench.export.verify import Verification, VerifyRun, default_hint, verify_artifact
from ecgbench.fileio import sha256_file
from ecgbench.progress import progress_bar
from ecgbench.zoo import Zoo, ZooEntry


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
        self.records = opts.record_source(ckpt.preprocessing)
        example = torch.from_numpy(synthetic_input(ckpt.preprocessing, batch=1))
        self.builder = VariantBuilder(
            self.model, example, np.asarray(ckpt.thresholds), opts.quant, self.records
        )

    # ------------------------------------------------------------------ variants
    def variant(self, fmt: str, precision: str) -> ExportedVariant:
        """The artifact of (fmt, precision): bundled in the zoo, cached, or built now."""
        check_variant(fmt, precision)
        t0 = time.perf_counter()
        if precision == "int8" and not self.opts.force:
            # The zoo's own INT8 artifact (its accuracy is the one the manifest shows) unless the
            # user asks for their own calibration or a rebuild.
            bundled = bundled_variant(
                self.name, self.zoo_entry, fmt, precision, self.ckpt_sha, self.opts
            )
            if bundled is not None:
                return bundled
        key = cache_key(self.ckpt_sha, fmt, precision, self.builder.settings(fmt, precision))
        entry, source = self._cached_or_built(key, fmt, precision)
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

    def _cached_or_built(self, key: str, fmt: str, precision: str) -> tuple[CacheEntry, str]:
        entry = None if self.opts.force else self.cache.lookup(key)
        if entry is not None:
            return entry, "cache"
        return self.cache.store(key, lambda tmp: self._build(fmt, precision, tmp)), "built"

    def _build(self, fmt: str, precision: str, tmp: Path) -> tuple[str, dict[str, Any]]:
        meta: dict[str, Any] = {"model": self.name, "format": fmt, "precision": precision}
        t0 = time.perf_counter()
        main, measured = self.builder.build(
            fmt, precision, tmp, lambda: self.variant("onnx", "fp32").path
        )
        meta.update(measured)
        meta["build_seconds"] = time.perf_counter() - t0
        meta["settings"] = self.builder.settings(fmt, precision)
        meta["checkpoint_sha256"] = self.ckpt_sha
        return main, meta

    # ------------------------------------------------------------------ verification
    def verify(
        self, v: ExportedVariant, hint: str | None = None, precision: str | None = None
    ) -> Verification:
        """Check ``v`` against PyTorch FP32, run at ``hint`` (f32 / bf16 / f16).

        ``precision`` is what was asked for (``bf16`` runs the FP32 artifact); it defaults to the
        artifact's own. The tolerance follows what executed.
        """
        hint = hint or default_hint(v.backend, v.precision)
        ids = self.records.verification_ids()
        path = verification_path(self.cache.root, v.path, self.ckpt_sha, v.precision, hint, ids)
        cached = None if self.opts.force else load_verification(path)
        if cached is not None:
            v.verification = cached
            return cached
        x, real = self.records.verification_inputs()
        run = VerifyRun(v.path, v.backend, v.precision, precision or v.precision, hint)
        v.verification = verify_artifact(self.model, np.asarray(self.ckpt.thresholds), run, x, real)
        save_verification(path, v.verification)
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
    from ecgbench.export.brought import Int8Unavailable, VariantUnavailable
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
            entry = zoo.entries.get(name)
            if entry is not None and entry.brought:
                from ecgbench.export.brought import brought_exporter

                ex: Any = brought_exporter(zoo, name, opts)
            else:
                _, ckpt, path = checkpoint_from(name, zoo)
                ex = ModelExporter(name, ckpt, path, opts, entry)
            for fmt, prec in jobs:
                bar.update(task, description=f"{name} {fmt} {prec}")
                try:
                    v = ex.variant(fmt, prec)
                except Int8Unavailable:
                    raise  # asked for by name: the one line says why NNCF could not
                except VariantUnavailable:  # an IR has no ONNX form: nothing to export
                    bar.advance(task)
                    continue
                if verify:
                    ex.verify(v)
                brought = entry is not None and entry.brought
                if (
                    to_zoo
                    and prec == "int8"
                    and entry is not None
                    and v.source != "zoo"
                    and not brought
                ):
                    bundle_into_zoo(zoo, entry, v, ex.ckpt_sha)
                results.append(v)
                bar.advance(task)
    return results
