"""Content-addressed export cache: (checkpoint sha256, settings, library versions) -> artifact folder.

An entry is a folder written beside its final place and renamed into it, so an interrupted export
never leaves something a later run would use. Every file's sha256 is in ``meta.json`` and checked on
each hit; a corrupt entry is discarded and rebuilt. Verification verdicts are cached beside the
entries, under ``verifications/``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ecgbench.errors import EcgbenchError
from ecgbench.fileio import atomic_write_json, sha256_file
from ecgbench.host import library_versions

if TYPE_CHECKING:  # verify imports torch; the gate reads default_cache_dir without it
    from ecgbench.export.verify import Verification

CACHE_ENV = "ECGBENCH_CACHE"
# the libraries an export depends on: a new version of any of them is a new cache key
EXPORT_LIBRARIES = ("torch", "openvino", "nncf", "onnx", "onnxscript")


def default_cache_dir() -> Path:
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ecgbench" / "exports"


def cache_key(checkpoint_sha256: str, fmt: str, precision: str, settings: dict[str, Any]) -> str:
    doc = {
        "checkpoint": checkpoint_sha256,
        "format": fmt,
        "precision": precision,
        "settings": settings,
        "versions": library_versions(EXPORT_LIBRARIES),
        "layout": 1,
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:32]


@dataclass
class CacheEntry:
    key: str
    directory: Path
    main: Path  # model.xml or model.onnx
    meta: dict[str, Any]


class ExportCache:
    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root) if root else default_cache_dir()

    def lookup(self, key: str) -> CacheEntry | None:
        """The entry if present and intact; a damaged entry is removed (and rebuilt by the caller)."""
        d = self.root / key
        meta_path = d / "meta.json"
        if not meta_path.is_file():
            return None
        try:
            meta = json.loads(meta_path.read_text())
            for name, digest in meta["files"].items():
                if sha256_file(d / name) != digest:
                    raise ValueError(f"{name} changed")
            return CacheEntry(key, d, d / meta["main"], meta)
        except (OSError, ValueError, KeyError, json.JSONDecodeError):
            shutil.rmtree(d, ignore_errors=True)
            return None

    def store(self, key: str, build: Callable[[Path], tuple[str, dict[str, Any]]]) -> CacheEntry:
        """``build(tmpdir) -> (main file name, meta)``; files land atomically under the key."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=self.root))
        except OSError as e:
            raise EcgbenchError(
                f"cannot write the export cache at {self.root}: {e.strerror}"
            ) from None
        try:
            main, meta = build(tmp)
            meta = dict(meta)
            meta["main"] = main
            meta["files"] = {
                p.name: sha256_file(p) for p in sorted(tmp.iterdir()) if p.name != "meta.json"
            }
            atomic_write_json(tmp / "meta.json", meta)
            final = self.root / key
            if final.exists():
                shutil.rmtree(final)
            os.replace(tmp, final)
        except OSError as e:
            raise EcgbenchError(f"export cache write failed at {self.root}: {e}") from None
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        return CacheEntry(key, final, final / main, meta)


def verification_path(
    root: Path,
    artifact: Path,
    checkpoint_sha256: str,
    precision: str,
    hint: str | None,
    record_ids: list[str],
) -> Path:
    """Verification depends only on (artifact, checkpoint, records, arithmetic): cached."""
    from ecgbench.export.verify import TOLERANCES
    from ecgbench.host import cpu_description

    # what ran depends on the CPU and the runtime, the verdict on the tolerances: all key it
    where = [cpu_description(), library_versions(["openvino"])["openvino"]]
    doc = [sha256_file(artifact), checkpoint_sha256, precision, hint, record_ids, TOLERANCES, where]
    key = json.dumps(doc, sort_keys=True)
    return root / "verifications" / (hashlib.sha256(key.encode()).hexdigest()[:32] + ".json")


def load_verification(path: Path) -> Verification | None:
    """A cached verdict, or ``None`` when absent or unreadable (then it is verified again)."""
    from ecgbench.export.verify import Verification

    if not path.is_file():
        return None
    try:
        return Verification(**json.loads(path.read_text()))
    except (ValueError, TypeError):
        return None


def save_verification(path: Path, result: Verification) -> None:
    # A read-only cache still verifies; it just does it every time.
    with contextlib.suppress(OSError):
        atomic_write_json(path, result.to_dict())
