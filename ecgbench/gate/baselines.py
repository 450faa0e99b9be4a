"""Stored baselines kept per machine: chosen by fingerprint, never across CPUs by accident.

A baseline judges a run only when it came from the same kind of machine: the same CPU model and
ISA, the same threads, the same precisions the CPU executes natively, the same inference
libraries. ``baseline_key`` hashes exactly those; a CI cache keyed by it never hands a Xeon's
baseline to an EPYC job, and a job whose machine has no baseline yet says so and passes.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ecgbench.bench.results.document import RunDocument, read_run
from ecgbench.errors import BadInputError, NoBaselineError


def precisions_from_isa(isa: list[str]) -> list[str]:
    """What OpenVINO's CPU plugin executes natively, read off the ISA (runs recorded before the
    fingerprint kept ``native_precisions``): BF16 from AVX512-BF16 or AMX, FP16 from
    AVX512-FP16 (or AMX-FP16); FP32 and INT8 everywhere."""
    have = set(isa)
    out = {"FP32", "INT8"}
    if have & {"avx512_bf16", "amx_bf16"}:
        out.add("BF16")
    if have & {"avx512_fp16", "amx_fp16"}:
        out.add("FP16")
    return sorted(out)


def executed_precisions(fp: dict[str, Any]) -> list[str]:
    """What the CPU executes natively (``BF16``, ``FP16``, ``INT8`` …), from the fingerprint."""
    native = (fp.get("native_precisions") or {}).get("CPU")
    return sorted(native) if native else precisions_from_isa(fp.get("isa") or [])


def baseline_key(fp: dict[str, Any]) -> str:
    """12 hex digits naming the machine class a baseline is valid for."""
    key = {
        "cpu": fp.get("cpu_model"),
        "isa": sorted(fp.get("isa") or []),
        "threads": fp.get("threads"),
        "executes": executed_precisions(fp),
        "versions": {k: v for k, v in (fp.get("versions") or {}).items() if k != "ecgbench"},
    }
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]


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
