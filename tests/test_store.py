"""The results store: SQLite and PostgreSQL behind one URL, concurrent writers in separate processes,
kill -9 mid-write, schema versions, import/export of run documents, baselines from the store, and
one clear line for every bad URL or unreachable server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SHARED
from pg_server import PgServer, unavailable
from typer.testing import CliRunner

from ecgbench.bench.results.document import RunDocument, read_run
from ecgbench.bench.store.database import SCHEMA_VERSION, ResultsStore
from ecgbench.bench.store.documents import baseline_from_store, merge_runs
from ecgbench.cli import app
from ecgbench.errors import BadInputError, NoBaselineError

BASELINE = (
    Path(__file__).resolve().parents[1] / "runners" / "baselines" / "baseline-22853bd3c53e.json"
)  # schema 1
XEON_RUN = SHARED / "hardware" / "xeon-amx" / "run-grid.json"


def _writer_script(url: str, run_id: str, machine: str) -> str:
    return (
        "from ecgbench.bench.results.document import read_run\nfrom ecgbench.bench.store.database import append_to_store\n"
        f"d = read_run({str(BASELINE)!r})\n"
        f"d.run_id = {run_id!r}\n"
        f"d.fingerprint = dict(d.fingerprint, machine_id={machine!r})\n"
        f"append_to_store(d, {url!r})\n"
    )


def _concurrent_writers(url: str, n: int) -> tuple[int, int]:
    """``n`` processes append one run each, started together; returns (runs, rows) found."""
    procs = [
        subprocess.Popen([sys.executable, "-c", _writer_script(url, f"w{i}", f"m{i % 4}")])
        for i in range(n)
    ]
    assert all(p.wait(timeout=300) == 0 for p in procs)
    st = ResultsStore(url, create=False)
    try:
        return st.count()
    finally:
        st.close()


@pytest.fixture(scope="module")
def baseline_doc() -> RunDocument:
    return read_run(BASELINE)


@pytest.fixture
def pg_url():
    reason = unavailable()
    if reason:
        pytest.skip(f"no throwaway PostgreSQL server: {reason}")
    with PgServer() as pg:
        yield pg.create_database("results")


# --------------------------------------------------------------------------- concurrency
def test_concurrent_writers_on_one_sqlite_file_lose_nothing(tmp_path, baseline_doc) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    ResultsStore(url).close()  # the file exists before the writers race (they would create it)
    runs, rows = _concurrent_writers(url, 8)
    assert (runs, rows) == (8, 8 * len(baseline_doc.rows))


def test_concurrent_writers_on_postgresql_lose_nothing(pg_url, baseline_doc) -> None:
    runs, rows = _concurrent_writers(pg_url, 8)  # they also race to create the tables
    assert (runs, rows) == (8, 8 * len(baseline_doc.rows))
    st = ResultsStore(pg_url, create=False)
    assert len(st.machine_names()) == 4 and len(st.frame(machine="m1")) == 2 * len(
        baseline_doc.rows
    )
    st.close()


def test_a_writer_killed_mid_write_leaves_whole_runs_only(tmp_path, baseline_doc) -> None:
    """kill -9 a writer inside its second run's transaction: the first run is whole, the second
    left nothing. The writer says when it is inside (rows of run k1 inserted, not committed) and
    waits there, so the kill lands in the transaction every time."""
    url = f"sqlite:///{tmp_path / 'k.db'}"
    ResultsStore(url).close()
    script = (
        "import sys, time\n"
        "import sqlalchemy as sa\n"
        "from ecgbench.bench.results.document import read_run\n"
        "from ecgbench.bench.store.database import append_to_store\n"
        "def inside(conn, cursor, statement, params, context, executemany):\n"
        "    if d.run_id == 'k1' and statement.lstrip().upper().startswith('INSERT INTO ROWS'):\n"
        "        print('inside', flush=True)\n"
        "        time.sleep(600)\n"
        "sa.event.listen(sa.engine.Engine, 'after_cursor_execute', inside)\n"
        f"d = read_run({str(BASELINE)!r})\n"
        "for i in range(2):\n"
        "    d.run_id = f'k{i}'\n"
        "    append_to_store(d, " + repr(url) + ")\n"
        "    print(i, flush=True)\n"
    )
    p = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert p.stdout is not None
    assert p.stdout.readline().strip() == "0"  # run k0 committed
    assert p.stdout.readline().strip() == "inside"  # k1's rows written, its commit not yet
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    st = ResultsStore(url, create=False)
    df = st.frame()
    runs, _ = st.count()
    st.close()
    assert runs == 1 and set(df["run_id"]) == {"k0"}
    assert len(df) == len(baseline_doc.rows)


# --------------------------------------------------------------------------- schema
def test_a_store_from_a_newer_schema_is_refused_in_one_line(tmp_path) -> None:
    import sqlalchemy as sa

    url = f"sqlite:///{tmp_path / 'new.db'}"
    st = ResultsStore(url)
    assert st.schema_version == SCHEMA_VERSION
    with st.engine.begin() as c:
        c.execute(sa.text("UPDATE meta SET value = '99' WHERE key = 'schema_version'"))
    st.close()
    with pytest.raises(BadInputError, match="schema 99, newer than this ecgbench's 1"):
        ResultsStore(url)
    res = CliRunner().invoke(app, ["store", "list", "--store", url])
    assert res.exit_code == 2 and res.output.count("\n") == 1 and "upgrade ecgbench" in res.output


# --------------------------------------------------------------------------- import / export
def test_import_of_schema_1_documents_and_export_back(tmp_path, baseline_doc) -> None:
    url = f"sqlite:///{tmp_path / 'i.db'}"
    sources = [BASELINE] + ([XEON_RUN] if XEON_RUN.is_file() else [])
    res = CliRunner().invoke(app, ["store", "import", *map(str, sources), "--store", url])
    assert res.exit_code == 0, res.output
    assert f"imported {len(sources)} run(s)" in res.output
    out = tmp_path / "export"
    res = CliRunner().invoke(app, ["store", "export", str(out), "--store", url])
    assert res.exit_code == 0, res.output
    back = read_run(out / f"{baseline_doc.run_id}.json")
    assert back.to_dict() == baseline_doc.to_dict()  # raw samples and all
    if XEON_RUN.is_file():  # another machine: its own identity in the store
        st = ResultsStore(url, create=False)
        assert len(st.machine_names()) == 2
        df = st.frame()
        assert set(df["cpu_model"]) == {
            baseline_doc.fingerprint["cpu_model"],
            read_run(XEON_RUN).fingerprint["cpu_model"],
        }
        st.close()


def test_a_bad_import_writes_nothing(tmp_path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": 1, "rows": [{"model": "m"}]}')
    url = f"sqlite:///{tmp_path / 'b.db'}"
    res = CliRunner().invoke(app, ["store", "import", str(BASELINE), str(bad), "--store", url])
    assert res.exit_code == 2 and "row 0 lacks" in res.output
    assert not (tmp_path / "b.db").exists()  # checked before anything was written


# --------------------------------------------------------------------------- baselines
def test_baseline_from_the_store_by_machine_and_window(tmp_path, baseline_doc) -> None:
    url = f"sqlite:///{tmp_path / 'g.db'}"
    st = ResultsStore(url)
    for i, created in enumerate(("2026-01-01T00:00:00", "2026-01-02T00:00:00")):
        d = read_run(BASELINE)
        d.run_id, d.created, d.suite = f"b{i}", created, "ci"
        st.add_run(d, machine_name="lab-box")
    st.close()
    mid = baseline_doc.fingerprint["machine_id"]
    latest = baseline_from_store(url, "lab-box", "ci")
    assert latest.run_id == "b1"
    assert baseline_from_store(url, mid, "ci").run_id == "b1"  # by fingerprint hash too
    two = baseline_from_store(url, "lab-box", "ci", window=2)
    r0 = baseline_doc.rows[0]
    merged = next(r for r in two.rows if r.key() == r0.key())
    assert len(merged.latency.samples_ns) == 2 * len(r0.latency.samples_ns)
    rounds = [rnd for rnd, _ in merged.latency.slices]
    # each run keeps its rounds
    assert len(set(rounds)) == len(rounds) == 2 * len(r0.latency.slices)
    assert len(two.reference.model.samples_ns) == 2 * len(baseline_doc.reference.model.samples_ns)
    assert merge_runs([baseline_doc]) is baseline_doc
    with pytest.raises(NoBaselineError, match="no baseline for this machine"):
        baseline_from_store(url, "other-box", "ci")


def test_compare_with_a_baseline_from_the_store(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    cur = tmp_path / "cur.json"
    d = read_run(BASELINE)
    d.suite = "ci"
    d.write(cur)
    res = CliRunner().invoke(app, ["compare", "--baseline-from", url, str(cur)])
    assert res.exit_code == 2 and "no results store" in res.output  # nothing there yet
    ResultsStore(url).close()
    res = CliRunner().invoke(app, ["compare", "--baseline-from", url, str(cur)])
    assert res.exit_code == 3 and "no baseline for this machine" in res.output
    CliRunner().invoke(app, ["store", "import", str(cur), "--store", url])
    res = CliRunner().invoke(
        app, ["compare", "--baseline-from", url, str(cur)], env={"COLUMNS": "200"}
    )
    assert res.exit_code in (0, 4), res.output  # itself: never a regression (see test_bench_schema)
    assert "regression" not in res.output.replace("no regression", "")


# --------------------------------------------------------------------------- report, names
def test_report_from_the_store_names_machines(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'n.db'}"
    st = ResultsStore(url)
    for name in ("edge-1", "edge-2"):
        d = read_run(BASELINE)
        d.run_id = name
        d.fingerprint = dict(d.fingerprint, machine_id=f"id-{name}")
        st.add_run(d, machine_name=name)
    st.close()
    res = CliRunner().invoke(app, ["report", "--store", url, "-o", str(tmp_path / "rep")])
    assert res.exit_code == 0, res.output
    page = (tmp_path / "rep" / "index.html").read_text()
    assert "edge-1" in page and "edge-2" in page
    res = CliRunner().invoke(
        app, ["report", "--store", url, "--machine", "edge-2", "-o", str(tmp_path / "rep2")]
    )
    assert res.exit_code == 0 and "edge-1" not in (tmp_path / "rep2" / "index.html").read_text()


@pytest.mark.parametrize(
    ("url", "code", "says"),
    [
        ("postgresql://u@127.0.0.1:1/x", 2, "cannot open store postgresql://u@127.0.0.1:1/x"),
        ("nosuchdb://x", 2, "cannot use store nosuchdb://x"),
        ("sqlite:////nonexistent-dir-ecgbench/x.db", 2, "no results store"),
    ],
    ids=["unreachable-server", "unknown-dialect", "missing-file"],
)
def test_bad_store_urls_are_one_line(url: str, code: int, says: str) -> None:
    res = CliRunner().invoke(app, ["store", "list", "--store", url])
    assert res.exit_code == code, res.output
    assert "Traceback" not in res.output and res.output.count("\n") == 1 and says in res.output
