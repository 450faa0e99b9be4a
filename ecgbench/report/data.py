"""Results documents -> the tidy frames the report draws from."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ecgbench.bench.results.document import RunDocument, read_run, tidy_rows
from ecgbench.bench.results.fingerprint import Fingerprint
from ecgbench.errors import BadInputError
from ecgbench.precision import matches_request
from ecgbench.report.boxes import box_stats, drawn_points
from ecgbench.report.lengths import length_points

FACET_MACHINES = 3  # up to this many machines, a panel each; more: the fleet view (fleet_view)


@dataclass
class ReportData:
    rows: pd.DataFrame  # one row per (run, model, backend, device, precision, scenario, batch)
    machines: pd.DataFrame  # one row per machine fingerprint
    sources: list[str]
    profiles: list[dict] = field(default_factory=list)  # ``run --profile``: per-layer counters
    # one row per latency-scenario result row: its box over all samples and the dots drawn
    boxes: pd.DataFrame = field(default_factory=pd.DataFrame)
    # one row per latency row with its input length: the "latency against input length" figure
    lengths: pd.DataFrame = field(default_factory=pd.DataFrame)


def _machine_label(fp: dict) -> str:
    """The machine's name (``--machine-name``, or as the store knows it), else CPU + hash."""
    if fp.get("machine_name"):
        return str(fp["machine_name"])
    cpu = fp.get("cpu_model", "?")
    return f"{cpu} ({fp.get('threads', '?')} thr, {Fingerprint.from_dict(fp).machine_id[:6]})"


def collect_documents(
    paths: list[str | os.PathLike[str]],
    store: str | None = None,
    filters: dict | None = None,
) -> list[RunDocument]:
    """Run documents from files and folders of JSON, or (no paths) from the results store;
    ``filters``: machine, suite, since, limit (newest N runs), model, precision."""
    filters = dict(filters or {})
    keep_model, keep_precision = filters.pop("model", None), filters.pop("precision", None)
    docs: list[RunDocument] = []
    for p in map(Path, paths):
        if p.is_dir():
            files = sorted((p / "runs").glob("*.json")) or sorted(p.glob("*.json"))
            if not files:
                raise BadInputError(f"no results (*.json) in {p}")
            docs += [read_run(f) for f in files]
        else:
            docs.append(read_run(p))
    if not paths or store:
        from ecgbench.bench.store.database import ResultsStore

        st = ResultsStore(store, create=False)
        try:
            f = {k: v for k, v in filters.items() if v is not None}
            docs += st.documents(limit=f.pop("limit", None), **f)
            names = st.machine_names()
        finally:
            st.close()
        for d in docs:  # the store's name for each machine
            mid = Fingerprint.from_dict(d.fingerprint).machine_id
            if mid in names:
                d.fingerprint["machine_name"] = names[mid]
        if not docs:
            raise BadInputError(f"no runs in the store {st.url} match")
    for d in docs:
        d.rows = [
            r
            for r in d.rows
            if (keep_model in (None, r.model)) and (keep_precision in (None, r.precision))
        ]
    return [d for d in docs if d.rows]


def shown_precision(precision: str, executed: object) -> str:
    """What was asked and, where it differs, what ran (``fp16 → f32``)."""
    if pd.isna(executed) or (matches_request(precision, str(executed)) and executed != "int8+bf16"):
        return precision
    return f"{precision} → {executed}"


def _latest_rows(docs: list[RunDocument]) -> set[tuple[int, int]]:
    """(document, row) indices of the latest run of each machine × device × variant × batch."""
    seen: dict[tuple, tuple[int, int]] = {}
    for k, d in enumerate(docs):
        machine = _machine_label(d.fingerprint)
        for i, r in enumerate(d.rows):
            key = (machine, r.device, r.model, r.backend, r.precision, r.executed, r.batch)
            key += (r.scenario, tuple(r.input_shape))
            seen[key] = (k, i)
    return set(seen.values())


def box_frame(docs: list[RunDocument], latest_only: bool = False) -> pd.DataFrame:
    """Per latency- or stream-scenario row: machine, device, variant label, :class:`BoxStats`
    columns and ``points`` (at most ``MAX_POINTS`` samples in ms, drawn as dots). A stream row's
    samples are arrival-to-result times; its label says so. ``latest_only``: the latest run per
    machine and variant only (a fleet draws no more, and a box costs a bootstrap)."""
    out = []
    keep = _latest_rows(docs) if latest_only else None
    for k, d in enumerate(docs):
        machine = _machine_label(d.fingerprint)
        for i, r in enumerate(d.rows):
            if r.scenario not in ("latency", "stream") or not r.latency.samples_ns:
                continue
            if keep is not None and (k, i) not in keep:
                continue
            variant = f"{r.model} · {r.backend} · {shown_precision(r.precision, r.executed)}"
            if r.stream is not None:
                variant += f" · stream, a window every {r.stream.hop_s:g} s"
            if r.batch != 1:
                variant += f" · batch {r.batch}"
            st = box_stats(r.latency.samples_ns, r.latency.slices)
            out.append(
                {
                    "machine": machine,
                    "device": r.device,
                    "model": r.model,
                    "backend": r.backend,
                    "precision": r.precision,
                    "variant": variant,
                    "run_id": d.run_id,
                    **vars(st),
                    "points": drawn_points(r.latency.samples_ns, seed=i),
                }
            )
    f = pd.DataFrame(out)
    if len(f):  # the same variant from several runs: one box per run, named by it
        dup = f.duplicated(["machine", "device", "variant"], keep=False)
        f.loc[dup, "variant"] = f.loc[dup, "variant"] + " · run " + f.loc[dup, "run_id"].str[:6]
    return f


def build_frames(docs: list[RunDocument]) -> ReportData:
    rows, machines, profiles = [], {}, []
    for d in docs:
        label = _machine_label(d.fingerprint)
        for r in d.rows:
            if r.extra.get("profile"):
                profiles.append(
                    {
                        **r.extra["profile"],
                        "machine": label,
                        "model": r.model,
                        "precision": r.precision,
                        "device": r.device,
                        "run_id": d.run_id,
                    }
                )
        for r in tidy_rows(d):
            r["machine"] = label
            rows.append(r)
        mid = Fingerprint.from_dict(d.fingerprint).machine_id
        fp = dict(d.fingerprint)
        fp["machine"] = label
        fp["isa"] = ", ".join(fp.get("isa", []))
        fp["executes natively"] = " · ".join(
            f"{k}: {v}" for k, v in (fp.get("native_precisions") or {}).get("CPU", {}).items()
        )
        fp["GEMM ceilings GFLOP/s"] = ", ".join(
            f"{a} {g:.0f}" for a, g in (fp.get("ceilings_gflops") or {}).items()
        )
        fp["versions"] = ", ".join(f"{k} {v}" for k, v in fp.get("versions", {}).items())
        fp.pop("openvino_devices", None)
        machines[mid] = fp
    if not rows:
        raise BadInputError("the results hold no rows to report")
    df = pd.DataFrame(rows)
    if "executed" not in df:
        df["executed"] = None
    # a partition names what was asked and, where it differs, what ran ("fp16 → f32")
    shown = [
        shown_precision(p, ex)
        for p, ex in zip(df["precision"].astype(str), df["executed"], strict=True)
    ]
    df["partition"] = df["device"].astype(str) + " · " + df["backend"].astype(str) + " · " + shown
    for c in ("challenge_score", "challenge_score_ci_low", "challenge_score_ci_high"):
        df[c] = pd.to_numeric(df[c]).astype(float)  # all None: object dtype, no arithmetic
    df["has_accuracy"] = df["challenge_score"].notna()
    return ReportData(
        rows=df,
        machines=pd.DataFrame(list(machines.values())),
        sources=[d.run_id for d in docs],
        profiles=profiles,
        boxes=box_frame(docs, latest_only=len(machines) > FACET_MACHINES),
        lengths=length_points(docs, _machine_label),
    )


def _drop_cell(r: dict) -> str:
    """``[-0.002, +0.010] tie``: the paired drop's interval where the manifest has one, else –."""
    lo, hi = (r.get(k) for k in ("score_drop_ci_low", "score_drop_ci_high"))
    verdict = r.get("score_drop_verdict")
    if verdict is None or lo is None or lo != lo:
        return "–"
    return f"[{lo:+.3f}, {hi:+.3f}] {verdict}"


def accuracy_drops(df: pd.DataFrame) -> pd.DataFrame:
    """Per (machine, model, backend, device, precision): score, AUROC, drop from the FP32 variant."""
    keep = [
        "machine",
        "model",
        "backend",
        "device",
        "precision",
        "executed",
        "scenario",
        "median_ms",
        "challenge_score",
        "challenge_score_ci_low",
        "challenge_score_ci_high",
        "score_drop_ci_low",
        "score_drop_ci_high",
        "score_drop_verdict",
        "auroc",
        "accuracy_note",
    ]
    keep = [k for k in keep if k in df]
    lat = df[df["scenario"] == "latency"][keep].copy() if "scenario" in df else df[keep].copy()
    ref = (
        lat[lat["precision"] == "fp32"]
        .groupby(["model"])[["challenge_score", "auroc"]]
        .max()
        .rename(columns={"challenge_score": "fp32_score", "auroc": "fp32_auroc"})
    )
    out = lat.join(ref, on="model")
    out["score_drop"] = out["fp32_score"] - out["challenge_score"]
    out["paired drop [95% CI]"] = [_drop_cell(r) for r in out.to_dict("records")]
    out["auroc_drop"] = out["fp32_auroc"] - out["auroc"]
    return out
