"""INT8 artifacts bundled in the zoo (``models/int8/<name>/``), sha256-checked.

The zoo ships its INT8 artifacts because the accuracy its manifest reports belongs to those exact
bytes, calibrated on real records a fresh clone may not have.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from ecgbench.backends import BACKENDS, format_of
from ecgbench.export.build import ExportedVariant, ExportOptions
from ecgbench.export.digest import SUFFIXES, digest_of, score_is_of
from ecgbench.fileio import sha256_file
from ecgbench.zoo import Zoo, ZooEntry, artifact_folder, verify_artifacts


def bundled_variant(
    name: str,
    entry: ZooEntry | None,
    fmt: str,
    precision: str,
    checkpoint_sha256: str,
    opts: ExportOptions,
) -> ExportedVariant | None:
    """The zoo's own artifact of this checkpoint, unless other records or settings are asked for.

    Raises ``ChecksumError`` when a bundled file changed: it is refused, never loaded.
    """
    if entry is None or precision != "int8" or opts.calibration_dir is not None:
        return None
    a = entry.artifacts.get(f"{fmt}-{precision}")
    if not a or a.get("checkpoint_sha256") != checkpoint_sha256:
        return None
    wanted = {k: v for k, v in opts.quant.to_dict().items() if v is not None}
    have = dict(a.get("settings", {}).get("quant", wanted))
    if "smooth_quant" not in wanted:  # not asked for: the zoo's choice (the better of on / off)
        have.pop("smooth_quant", None)
    # How many of the zoo's calibration records it took is the zoo's choice too (more where 300
    # failed verification): without records of one's own, its artifact is the INT8 there is.
    have.pop("subset_size", None)
    wanted.pop("subset_size", None)
    if have != wanted:  # (TOML has no None)
        return None  # other quantization settings asked for (e.g. --max-drop): build them
    verify_artifacts(ZooEntry(**{**entry.__dict__, "artifacts": {f"{fmt}-{precision}": a}}))
    return ExportedVariant(
        model=name,
        format=fmt,
        precision=precision,
        path=entry.zoo_dir / a["main"],
        key=a.get("cache_key", ""),
        source="zoo",
        seconds=0.0,
        meta=dict(a),
    )


def bundle_into_zoo(zoo: Zoo, entry: ZooEntry, v: ExportedVariant, ckpt_sha: str) -> None:
    """Copy an INT8 artifact into ``models/int8/<name>/`` and record its sha256 in the manifest.

    The files go into a new hidden folder beside the old ones; under the manifest's lock it gets
    its final name and the manifest is replaced atomically; only then is the old folder removed.
    A writer killed at any moment leaves a manifest whose every file is there and verifies.
    """
    folder = artifact_folder(zoo.root, entry.name)
    folder.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{v.format}.", dir=folder))
    try:
        digests: dict[str, str] = {}
        for p in sorted(v.path.parent.glob(f"{v.path.stem}.*")):
            if p.suffix in SUFFIXES:
                shutil.copyfile(p, staging / p.name)
                with open(staging / p.name, "rb") as f:
                    os.fsync(f.fileno())
                digests[p.name] = sha256_file(staging / p.name)
        final = folder / f"{v.format}-{digest_of(digests)[:12]}"
        key = f"{v.format}-{v.precision}"
        with zoo.editing():
            fresh = zoo.get(entry.name)
            if not final.exists():
                os.replace(staging, final)
            rel_dir = final.relative_to(zoo.root)
            _drop_scores_of_other_bytes(fresh, v, fresh.artifacts.get(key), digest_of(digests))
            fresh.artifacts[key] = {
                "main": str(rel_dir / v.path.name),
                "files": {str(rel_dir / n): d for n, d in digests.items()},
                "checkpoint_sha256": ckpt_sha,
                "cache_key": v.key,
                "settings": v.meta.get("settings", {}),
                "calibration_seconds": v.meta.get("calibration_seconds", 0.0),
                "command": (
                    f"ecgbench export --model {entry.name} --precision int8 --format {v.format} "
                    "--zoo"
                ),
            }
            entry.artifacts = fresh.artifacts
        # the manifest no longer names the old folder (nor any a killed writer left): remove them
        with zoo.editing(save=False):
            _remove_unreferenced(zoo, entry.name)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def _drop_scores_of_other_bytes(
    entry: ZooEntry, v: ExportedVariant, old: dict | None, new_digest: str
) -> None:
    """Scores measured on the artifact this bundle replaces belong to those bytes: removed."""
    for k, score in list(entry.variants.items()):
        if (
            score.get("precision") == v.precision
            and score.get("backend") in BACKENDS
            and format_of(str(score["backend"])) == v.format
            and not score_is_of(score, new_digest, old)
        ):
            del entry.variants[k]


def _remove_unreferenced(zoo: Zoo, name: str) -> None:
    """Folders in ``int8/<name>/`` no artifact of the manifest names (called under its lock).

    Hidden folders are another writer's staging area and are left alone."""
    folder = artifact_folder(zoo.root, name)
    entry = zoo.entries.get(name)
    used = {
        (zoo.root / rel).resolve().parent
        for a in (entry.artifacts.values() if entry else ())
        for rel in a.get("files", {})
    }
    for d in folder.iterdir():
        if d.is_dir() and not d.name.startswith(".") and d.resolve() not in used:
            shutil.rmtree(d)
