"""Schema-1 run documents (flat rows, an untyped reference) as schema 2.

Committed baselines, stored runs and the base side of the same-job gate (an older checkout's own
``ecgbench run``) are schema 1; they are converted on reading and judged like any other run.
"""

from __future__ import annotations

from typing import Any

from ecgbench.bench.results.schema import FLAT_FIELDS

_REFERENCE_PARTS = ("ceilings", "model")


def upgrade_v1(d: dict[str, Any]) -> dict[str, Any]:
    """A schema-1 document as schema 2 (a new dict; ``d`` is left as it was).

    Rows that are not objects stay as they are, for the reader to refuse."""
    rows = d.get("rows")
    out = {**d, "schema": 2, "reference": _reference(d.get("reference"))}
    if isinstance(rows, list):
        out["rows"] = [_row(r) if isinstance(r, dict) else r for r in rows]
    return out


def _row(r: dict[str, Any]) -> dict[str, Any]:
    if "executed" not in r:  # rows written before schema-1 rows kept it
        r = {**r, "executed": _executed_of_old_row(r)}
    out: dict[str, Any] = {}
    for name, group, f in FLAT_FIELDS:
        if name in r:
            (out.setdefault(group, {}) if group else out)[f] = r[name]
    return out


def _executed_of_old_row(r: dict[str, Any]) -> str | None:
    """Older rows: OpenVINO kept its inference precision; ONNX Runtime and torch ran f32."""
    from ecgbench.backends import default_float
    from ecgbench.precision import executed_label

    ip = r.get("inference_precision")
    if ip is None:
        ip = default_float(str(r.get("backend")))
    return executed_label(str(r.get("precision")), ip)


def _reference(ref: Any) -> Any:
    """The f32 GEMM's fields sat at the top level, beside ``ceilings`` and ``model``."""
    if not isinstance(ref, dict):
        return {} if ref is None else ref
    gemm = {k: v for k, v in ref.items() if k not in _REFERENCE_PARTS}
    return {"gemm": gemm or None, "ceilings": ref.get("ceilings") or {}, "model": ref.get("model")}
