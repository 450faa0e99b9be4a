"""The zoo's bootstrap replicates: ``models/score-replicates.npz`` beside the manifest.

``ecgbench evaluate --zoo`` keeps each variant's Challenge-score replicates (float32, one per
resample) with the seed, the record count and a digest of the record ids, so that ties between any
two variants, of one model or of two, can be decided later without the records (third-party data
that never enters the repository). Entries are keyed like the manifest's variants:
``<model>`` / ``<backend>-<precision>@<executed>``, and carry the checkpoint's sha256 so that a
retrained model's old replicates are never paired with its new score.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ecgbench.errors import BadInputError
from ecgbench.fileio import atomic_path
from ecgbench.metrics.ties import Replicates, records_digest

if TYPE_CHECKING:
    from ecgbench.accuracy.scores import VariantScores
    from ecgbench.zoo import Zoo

REPLICATES_FILE = "score-replicates.npz"
SCHEMA = 1
ReplicateKey = tuple[str, str]  # (model, "<backend>-<precision>@<executed>")


def replicates_path(zoo: Zoo) -> Path:
    return zoo.root / REPLICATES_FILE


def variant_replicates(vs: VariantScores) -> Replicates | None:
    """The replicates of a scored variant, or None when it was scored without the bootstrap."""
    iv, o = vs.intervals, vs.outputs
    if iv is None or iv.challenge_replicates is None or o is None:
        return None
    return Replicates(
        values=np.asarray(iv.challenge_replicates, dtype=np.float32),
        point=float(vs.scores.challenge_score),
        seed=iv.seed,
        n_records=len(o.names),
        records_sha256=records_digest(o.names),
    )


def _read(path: Path) -> dict[ReplicateKey, tuple[Replicates, str]]:
    """Every stored entry with the checkpoint sha256 it was measured on."""
    if not path.is_file():
        return {}
    try:
        with np.load(path, allow_pickle=False) as f:
            index = json.loads(str(f["index"][()]))
            out = {}
            for e in index["variants"]:
                r = Replicates(
                    values=np.asarray(f[e["array"]], dtype=np.float32),
                    point=float(e["point"]),
                    seed=int(e["seed"]),
                    n_records=int(e["n_records"]),
                    records_sha256=str(e["records_sha256"]),
                )
                out[(e["model"], e["key"])] = (r, str(e["checkpoint_sha256"]))
            return out
    except (OSError, KeyError, TypeError, ValueError, zipfile.BadZipFile) as e:
        raise BadInputError(f"{path}: not a readable replicates file ({e})") from None


def _write(path: Path, entries: dict[ReplicateKey, tuple[Replicates, str]]) -> None:
    arrays: dict[str, np.ndarray] = {}
    index: list[dict[str, Any]] = []
    for i, ((model, key), (r, sha)) in enumerate(sorted(entries.items())):
        arrays[f"r{i}"] = np.asarray(r.values, dtype=np.float32)
        index.append(
            {
                "model": model,
                "key": key,
                "array": f"r{i}",
                "point": r.point,
                "seed": r.seed,
                "n_records": r.n_records,
                "records_sha256": r.records_sha256,
                "checkpoint_sha256": sha,
            }
        )
    doc = json.dumps({"schema": SCHEMA, "variants": index})
    with atomic_path(path, suffix=".npz") as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, index=np.array(doc), **arrays)


def put_replicates(zoo: Zoo, model: str, key: str, replicates: Replicates | None) -> None:
    """Keep (or, for None, drop) one zoo variant's replicates in the sidecar, atomically."""
    path = replicates_path(zoo)
    entries = _read(path)
    if replicates is None:
        if entries.pop((model, key), None) is None:
            return
    else:
        entries[(model, key)] = (replicates, zoo.get(model).sha256)
    _write(path, entries)


def store_variant_replicates(zoo: Zoo, vs: VariantScores) -> None:
    """A scored variant's replicates; scored without the bootstrap, its stale ones are dropped."""
    put_replicates(zoo, vs.model, vs.key, variant_replicates(vs))


def load_replicates(zoo: Zoo | None = None) -> dict[ReplicateKey, Replicates]:
    """The sidecar's replicates of the zoo's current checkpoints (stale entries are left out)."""
    from ecgbench.zoo import Zoo

    zoo = zoo or Zoo()
    return {
        k: r
        for k, (r, sha) in _read(replicates_path(zoo)).items()
        if k[0] in zoo.entries and zoo.entries[k[0]].sha256 == sha
    }
