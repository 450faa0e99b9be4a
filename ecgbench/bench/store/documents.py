"""Run documents in and out of the results store: import, export, and the merged baseline a
``compare --baseline-from`` judges against."""

from __future__ import annotations

from pathlib import Path

from ecgbench.bench.results.document import RunDocument
from ecgbench.bench.results.schema import References
from ecgbench.bench.store.database import ResultsStore
from ecgbench.errors import BadInputError, NoBaselineError
from ecgbench.names import check_run_id, inside
from ecgbench.statistics import validity


def merge_runs(docs: list[RunDocument]) -> RunDocument:
    """Several runs of one suite as one baseline: samples concatenated per key, rounds renumbered
    so that each run's rows stay paired with that run's reference slices."""
    import copy

    if len(docs) == 1:
        return docs[0]
    out = copy.deepcopy(docs[0])
    offset = _max_round(docs[0]) + 1
    by_key = {r.key(): r for r in out.rows}
    for d in docs[1:]:
        for r in d.rows:
            tgt = by_key.get(r.key())
            if tgt is None:
                continue
            _append_slices(tgt.latency.__dict__, r.latency.samples_ns, r.latency.slices, offset)
            tgt.latency.n = len(tgt.latency.samples_ns)
            tgt.latency.percentiles_valid = validity(tgt.latency.n)
        for ref_out, ref_in in _references(out.reference, d.reference):
            _append_slices(ref_out.__dict__, ref_in.samples_ns, ref_in.slices, offset)
        offset += _max_round(d) + 1
    out.command = f"merged baseline of {len(docs)} runs: " + ", ".join(d.run_id for d in docs)
    return out


def _references(a: References, b: References):
    if a.gemm is not None and b.gemm is not None:
        yield a.gemm, b.gemm
    if a.model is not None and b.model is not None:
        yield a.model, b.model


def _append_slices(target: dict, samples: list[int], slices: list[list[int]], offset: int) -> None:
    base = len(target["samples_ns"])
    target["samples_ns"] = list(target["samples_ns"]) + list(samples)
    target["slices"] = list(target["slices"]) + [[rnd + offset, st + base] for rnd, st in slices]


def _max_round(d: RunDocument) -> int:
    rounds = [rnd for r in d.rows for rnd, _ in r.latency.slices]
    rounds += [rnd for ref in (d.reference.gemm, d.reference.model) if ref for rnd, _ in ref.slices]
    return max(rounds, default=0)


def baseline_from_store(
    url: str, machine: str, suite: str | None = None, window: int = 1
) -> RunDocument:
    """The latest complete run (or the last ``window`` merged) of ``machine`` and ``suite``."""
    st = ResultsStore(url, create=False)
    try:
        docs = st.documents(limit=window, machine=machine, suite=suite, complete_only=True)
    finally:
        st.close()
    if not docs:
        raise NoBaselineError(
            f"no baseline for this machine in {st.url} (machine {machine}"
            + (f", suite {suite}" if suite else "")
            + ")"
        )
    return merge_runs(docs)


def _document_files(sources: list[Path]) -> list[Path]:
    files: list[Path] = []
    for p in map(Path, sources):
        if p.is_dir():
            found = sorted((p / "runs").glob("*.json")) or sorted(p.glob("*.json"))
            if not found:
                raise BadInputError(f"no run documents (*.json) in {p}")
            files += found
        elif p.is_file():
            files.append(p)
        else:
            raise BadInputError(f"not found: {p}")
    return files


def import_documents(
    sources: list[Path],
    store: str | None = None,
    machine_name: str | None = None,
    replace: bool = False,
) -> tuple[int, str]:
    """Every run document in ``sources`` into the store, one transaction each.

    A document whose run id the store holds with other content is refused unless ``replace``;
    the very same document again is a no-op."""
    from ecgbench.bench.results.document import read_run

    docs = [read_run(f) for f in _document_files(sources)]  # all checked before any write
    st = ResultsStore(store)
    try:
        for d in docs:
            st.add_run(d, machine_name, replace=replace)
    finally:
        st.close()
    return len(docs), st.url


def export_documents(store: str | None, out_dir: Path) -> int:
    st = ResultsStore(store, create=False)
    try:
        docs = st.documents()
    finally:
        st.close()
    for d in docs:  # run ids were checked on reading; the path is checked all the same
        d.write(inside(out_dir, f"{check_run_id(d.run_id)}.json", "exported run"))
    return len(docs)
