"""The identity of an exported artifact: one sha256 over its files (``model.xml`` + ``.bin``, or
``.onnx``). A score belongs to exact bytes; two INT8 artifacts of one checkpoint calibrated on
other records are two artifacts, and one's accuracy is never shown for the other."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ecgbench.fileio import sha256_file

SUFFIXES = (".xml", ".bin", ".onnx")


def artifact_files(main: Path) -> list[Path]:
    """The files of the artifact whose main file is ``main`` (same stem, a model suffix)."""
    return sorted(p for p in main.parent.glob(f"{main.stem}.*") if p.suffix in SUFFIXES)


def digest_of(file_digests: dict[str, str]) -> str:
    """sha256 over {file name: sha256}, independent of the folder the files sit in."""
    return hashlib.sha256(json.dumps(file_digests, sort_keys=True).encode()).hexdigest()


def artifact_digest(main: str | Path) -> str | None:
    """The artifact's identity, or None where ``main`` is not an exported file (a checkpoint)."""
    main = Path(main)
    if main.suffix not in SUFFIXES or not main.is_file():
        return None
    return digest_of({p.name: sha256_file(p) for p in artifact_files(main)})


def bundled_digest(artifact: dict[str, Any]) -> str:
    """The identity of a zoo-bundled artifact, from the hashes its manifest entry records."""
    return digest_of({Path(rel).name: d for rel, d in artifact.get("files", {}).items()})


def score_is_of(score: dict[str, Any], digest: str | None, bundled: dict[str, Any] | None) -> bool:
    """Whether a stored ``score`` was measured on the artifact of ``digest``.

    Scores record the digest they were measured on; older ones (without it) belong to the zoo's
    bundled artifact where there is one (``export --zoo`` bundles what ``evaluate --zoo`` scored).
    """
    if digest is None:
        return True  # a checkpoint run by torch: the checkpoint is sha-checked by the zoo
    stored = score.get("artifact_sha256")
    if stored is None and bundled is not None:
        stored = bundled_digest(bundled)
    return stored is None or stored == digest
