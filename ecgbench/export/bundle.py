"""INT8 artifacts bundled in the zoo (``models/int8/<name>/``), sha256-checked.

The zoo ships its INT8 artifacts because the accuracy its manifest reports belongs to those exact
bytes, calibrated on real records a fresh clone may not have.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ecgbench.export.build import ExportedVariant, ExportOptions
from ecgbench.fileio import sha256_file
from ecgbench.zoo import Zoo, ZooEntry, verify_artifacts


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
    """Copy an INT8 artifact into ``models/int8/<name>/`` and record its sha256 in the manifest."""
    rel_dir = Path("int8") / entry.name / v.format
    dest = zoo.root / rel_dir
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    files: dict[str, str] = {}
    for p in sorted(v.path.parent.glob(f"{v.path.stem}.*")):
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
        "command": f"ecgbench export --model {entry.name} --precision int8 --format {v.format} --zoo",
    }
    zoo.save()
