"""Issue 27, cases 5-8: writers that race or die. Real processes: N ``zoo add`` at once, N first
writers to a new SQLite store, ``kill -9`` in the middle of ``export --zoo``; and a store of a newer
schema that must be refused before anything in it is touched."""

from __future__ import annotations

import json
import signal
import sqlite3
import time
from pathlib import Path

import pytest
from helpers_export import TINY_NAME, TinySession, subprocess_env
from helpers_gate import result_row, run_doc
from helpers_hostile import cli, ecgbench_process, one_error

from ecgbench.zoo import Zoo, verify_artifacts


def _wait(procs, timeout: float = 240) -> list[tuple[int, str, str]]:
    out = []
    for p in procs:
        o, e = p.communicate(timeout=timeout)
        out.append((p.returncode, o, e))
    return out


# ------------------------------------------------------------------ case 5: N zoo add at once
def test_concurrent_zoo_adds_all_survive(tmp_path: Path, tiny_checkpoint: Path) -> None:
    zoo, n = tmp_path / "zoo", 8
    procs = [
        ecgbench_process("zoo", "add", tiny_checkpoint, "--name", f"m{i}", "--zoo-dir", zoo)
        for i in range(n)
    ]
    results = _wait(procs)
    assert all(rc == 0 and "added" in o for rc, o, _ in results), results
    assert sorted(Zoo(zoo).entries) == sorted(f"m{i}" for i in range(n))
    assert cli("zoo", "verify", "--zoo-dir", zoo).exit_code == 0


# ------------------------------------------------------------------ case 7: N first writers
def test_concurrent_first_writers_to_a_new_sqlite_store_all_land(tmp_path: Path) -> None:
    n = 8
    docs = []
    for i in range(n):
        d = run_doc([result_row("m", 1.0 + i / 10, i)], seed=i)
        d.run_id = f"run{i:02d}"
        d.write(tmp_path / f"d{i}.json")
        docs.append(tmp_path / f"d{i}.json")
    url = f"sqlite:///{tmp_path / 'new.db'}"
    results = _wait([ecgbench_process("store", "import", d, "--store", url) for d in docs])
    assert all(rc == 0 for rc, _, _ in results), [e for _, _, e in results]
    with sqlite3.connect(tmp_path / "new.db") as c:
        assert c.execute("SELECT count(*) FROM runs").fetchone()[0] == n


# ------------------------------------------------------------------ case 8: newer schema
def test_a_newer_schema_store_is_refused_before_it_is_altered(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    doc = run_doc([result_row("m", 1.0, 1)])
    doc.write(tmp_path / "d.json")
    assert cli("store", "import", tmp_path / "d.json", "--store", db).exit_code == 0
    with sqlite3.connect(db) as c:
        c.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
        c.execute("ALTER TABLE rows RENAME COLUMN median_ms TO median_ms_v2")
        before = [r[1] for r in c.execute("PRAGMA table_info(rows)")]
    for args in (("store", "list", "--store", db), ("store", "import", tmp_path / "d.json")):
        res = cli(*args, *(("--store", db) if args[1] == "import" else ()))
        one_error(res, says="newer than this ecgbench's 1")
    with sqlite3.connect(db) as c:
        after = [r[1] for r in c.execute("PRAGMA table_info(rows)")]
    assert after == before and "median_ms" not in after


# ------------------------------------------------------------------ case 6: kill -9 mid-export
def _zoo_with_bundle(tiny: TinySession, tmp_path: Path) -> tuple[Path, dict[str, str]]:
    from ecgbench.export.bundle import bundle_into_zoo
    from ecgbench.fileio import sha256_file

    root = tmp_path / "zoo"
    zoo = Zoo(root)
    entry = zoo.add(tiny.ckpt, TINY_NAME)
    bundle_into_zoo(zoo, entry, tiny.variants[("openvino", "int8")], sha256_file(tiny.ckpt))
    return root, subprocess_env(tiny, ECGBENCH_ZOO=str(root))


def _export(tiny: TinySession, env: dict[str, str]):
    return ecgbench_process(
        "export",
        "--model",
        TINY_NAME,
        "--precision",
        "int8",
        "--format",
        "openvino",
        "--zoo",
        "--force",
        "--no-verify",
        "--calibration",
        tiny.records,
        "--calibration-size",
        "8",
        env=env,
    )


def _verifies(root: Path) -> None:
    zoo = Zoo(root)  # the manifest parses: every path inside its folder
    zoo.verify(TINY_NAME)
    verify_artifacts(zoo.entries[TINY_NAME])  # every bundled file there, every sha256 right
    assert zoo.entries[TINY_NAME].artifacts["openvino-int8"]["files"]


def _listing(folder: Path) -> set[str]:
    return {str(q) for q in folder.rglob("*")} if folder.is_dir() else set()


def _kill_at_first_change(p, folder: Path, timeout: float = 240) -> bool:
    """SIGKILL ``p`` the moment anything under ``folder`` changes: in the middle of bundling."""
    start, t0 = _listing(folder), time.monotonic()
    while p.poll() is None and time.monotonic() - t0 < timeout:
        if _listing(folder) != start:
            p.send_signal(signal.SIGKILL)
            return True
        time.sleep(0.001)
    return False


@pytest.mark.parametrize("when", ["while-bundling", "while-calibrating"])
def test_kill_9_during_export_zoo_leaves_a_zoo_that_verifies(
    tiny: TinySession, tmp_path: Path, when: str
) -> None:
    root, env = _zoo_with_bundle(tiny, tmp_path)
    p = _export(tiny, env)
    if when == "while-bundling":
        assert _kill_at_first_change(p, root / "int8" / TINY_NAME), "export ended untouched"
    else:
        time.sleep(2.0)
        p.send_signal(signal.SIGKILL)
    p.communicate(timeout=60)
    _verifies(root)
    res = cli("zoo", "verify", "--zoo-dir", root)
    assert res.exit_code == 0, res.output
    # and the next export, uninterrupted, bundles and verifies as well
    rc, _, err = _wait([_export(tiny, env)])[0]
    assert rc == 0, err
    _verifies(root)
    folders = [d for d in (root / "int8" / TINY_NAME).iterdir() if not d.name.startswith(".")]
    assert len(folders) == 1  # the replaced bundle's folder is gone, only the manifest's is left
    manifest = json.dumps(Zoo(root).entries[TINY_NAME].artifacts)
    assert folders[0].name in manifest
