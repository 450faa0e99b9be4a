"""Measure the results store at fleet scale: ``python -m ecgbench.studies.store_scale``.

Real run documents (``--seed-runs``) are multiplied into ``--machines`` x ``--runs-per-machine``
documents with distinct machine identities (fingerprint hash, hostname, name) and run ids, then
the project's own commands are timed on them, each in a fresh process as a user runs them:
``ecgbench store import`` (serially, then ``--writers`` imports at once), ``ecgbench report
--store`` and ``ecgbench recommend --store``. Every run and row is counted afterwards.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ecgbench.bench.results.document import read_run
from ecgbench.bench.store.database import ResultsStore
from ecgbench.errors import BadInputError


def fleet_documents(seeds: list[Path], machines: int, runs_per_machine: int, out: Path) -> int:
    """Write ``machines * runs_per_machine`` documents made from the seeds; returns rows written."""
    docs = [read_run(p) for p in seeds]
    out.mkdir(parents=True, exist_ok=True)
    t0 = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
    rows = 0
    for m in range(machines):
        for k in range(runs_per_machine):
            d = copy.deepcopy(docs[m % len(docs)])  # one machine, one CPU: always its seed's
            fp = d.fingerprint
            fp["machine_id"] = f"fleet{m:02d}-{str(fp.get('machine_id', 'x'))[:6]}"
            fp["hostname"] = f"edge-{m:02d}"
            fp["machine_name"] = f"edge-{m:02d} ({fp.get('cpu_model', '?')})"
            d.run_id = f"fleet{m:02d}r{k}"
            d.created = (t0 + dt.timedelta(hours=6 * k + m)).isoformat(timespec="seconds")
            d.suite = d.suite or "grid"
            d.write(out / f"{d.run_id}.json")
            rows += len(d.rows)
    return rows


def _timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{p.stdout}{p.stderr}")
    return time.perf_counter() - t0


def measure(store: str, docs_dir: Path, writers: int, report_dir: Path) -> dict:
    ecg = [sys.executable, "-m", "ecgbench.cli"]
    files = sorted(docs_dir.glob("*.json"))
    res: dict = {"store": store, "documents": len(files)}
    res["import_s"] = _timed([*ecg, "store", "import", str(docs_dir), "--store", store])
    st = ResultsStore(store, create=False)
    res["runs"], res["rows"] = st.count()
    res["machines"] = len(st.machine_names())
    st.close()
    res["report_s"] = _timed([*ecg, "report", "--store", store, "-o", str(report_dir)])
    res["recommend_s"] = _timed(
        [
            *ecg,
            "recommend",
            "--store",
            store,
            "--device",
            "CPU",
            "--precision",
            "int8",
            "--budget-ms",
            "5",
        ]
    )
    return res


def concurrent_writers(store: str, docs_dir: Path, writers: int) -> dict:
    """``writers`` processes import disjoint slices of the documents at the same moment."""
    files = sorted(docs_dir.glob("*.json"))[: writers * 2]
    ResultsStore(store).close()
    ecg = [sys.executable, "-m", "ecgbench.cli", "store", "import", "--store", store]
    t0 = time.perf_counter()
    procs = [
        subprocess.Popen([*ecg, *map(str, files[i::writers])], stdout=subprocess.DEVNULL)
        for i in range(writers)
    ]
    codes = [p.wait() for p in procs]
    seconds = time.perf_counter() - t0
    expected_rows = sum(len(read_run(f).rows) for f in files)
    st = ResultsStore(store, create=False)
    runs, rows = st.count()
    st.close()
    return {
        "writers": writers,
        "exit_codes": codes,
        "runs_expected": len(files),
        "runs_found": runs,
        "rows_expected": expected_rows,
        "rows_found": rows,
        "seconds": seconds,
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed-runs", nargs="+", type=Path, required=True)
    ap.add_argument("--machines", type=int, default=20)
    ap.add_argument("--runs-per-machine", type=int, default=5)
    ap.add_argument("--writers", type=int, default=8)
    ap.add_argument(
        "--store",
        action="append",
        required=True,
        help="store URL(s) to measure (e.g. sqlite:///f.db, postgresql://…)",
    )
    ap.add_argument("--out", type=Path, required=True, help="JSON file for the figures")
    a = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="ecgbench-fleet-"))
    try:
        try:
            n_rows = fleet_documents(a.seed_runs, a.machines, a.runs_per_machine, work / "docs")
        except BadInputError as e:
            raise SystemExit(f"error: {e}") from None
        out = {"documents_rows": n_rows, "stores": []}
        for i, url in enumerate(a.store):
            m = measure(url, work / "docs", a.writers, work / f"report{i}")
            out["stores"].append(m)
            print(json.dumps(m), flush=True)
        for i, url in enumerate(a.store):
            fresh = url.replace(".db", f"-writers{i}.db") if url.startswith("sqlite") else url
            if not url.startswith("sqlite"):
                _clear(url)
            c = concurrent_writers(fresh, work / "docs", a.writers)
            out.setdefault("concurrency", []).append({"store": fresh, **c})
            print(json.dumps(c), flush=True)
        a.out.write_text(json.dumps(out, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _clear(url: str) -> None:
    """Empty a server store's tables (the concurrency test starts from nothing)."""
    import sqlalchemy as sa

    st = ResultsStore(url)
    with st.engine.begin() as c:
        for t in (st.rows, st.runs, st.machines):
            c.execute(sa.delete(t))
    st.close()


if __name__ == "__main__":
    main()
