"""Stored baselines kept per machine: chosen by fingerprint, never across CPUs by accident.

A baseline judges a run only when it came from the same kind of machine: the same CPU model and
ISA, the same threads, the same precisions the CPU executes natively, the same inference
libraries. ``baseline_key`` hashes exactly those (``Fingerprint.baseline_key``, beside the other
"same machine" questions); a CI cache keyed by it never hands a Xeon's baseline to an EPYC job, and
a job whose machine has no baseline yet says so and passes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ecgbench.bench.results.document import RunDocument, read_run
from ecgbench.bench.results.fingerprint import Fingerprint, precisions_from_isa
from ecgbench.errors import BadInputError, NoBaselineError

__all__ = [
    "baseline_candidates",
    "baseline_key",
    "baseline_path",
    "choose_baseline",
    "describe",
    "executed_precisions",
    "precisions_from_isa",
]


def executed_precisions(fp: dict[str, Any]) -> list[str]:
    """What the CPU executes natively (``BF16``, ``FP16``, ``INT8`` …), from the fingerprint."""
    return Fingerprint.from_dict(fp).executes


def baseline_key(fp: dict[str, Any]) -> str:
    """12 hex digits naming the machine class a baseline is valid for
    (:attr:`Fingerprint.baseline_key`)."""
    return Fingerprint.from_dict(fp).baseline_key


def describe(fp: dict[str, Any]) -> str:
    ex = ", ".join(executed_precisions(fp)) or "?"
    return f"{fp.get('cpu_model', '?')} ({fp.get('threads', '?')} threads; executes {ex})"


def baseline_path(directory: Path, fp: dict[str, Any]) -> Path:
    """Where ``baseline update --dir`` keeps this machine's baseline."""
    return directory / f"baseline-{baseline_key(fp)}.json"


def choose_baseline(candidates: list[Path], fp: dict[str, Any]) -> tuple[Path, RunDocument]:
    """The newest candidate whose fingerprint has ``fp``'s key; NoBaselineError when none has."""
    want = baseline_key(fp)
    found: list[tuple[str, Path, RunDocument]] = []
    others: list[str] = []
    for p in candidates:
        doc = read_run(p)
        if baseline_key(doc.fingerprint) == want:
            found.append((doc.created or "", p, doc))
        else:
            others.append(describe(doc.fingerprint))
    if not found:
        have = "; ".join(sorted(set(others))) or "none"
        raise NoBaselineError(
            f"no baseline for this machine: {describe(fp)}, key {want} (baselines kept: {have})"
        )
    _, path, doc = max(found, key=lambda t: t[0])
    return path, doc


def baseline_candidates(where: Path) -> list[Path]:
    if where.is_file():
        return [where]
    if not where.is_dir():
        raise BadInputError(f"baseline folder not found: {where}")
    return sorted(where.glob("*.json"))
