"""Issue 27's acceptance runs (functional, not timing): ``python tests/acceptance_hostile.py``.

- 16 concurrent first imports into a new SQLite store, three times (16 of 16 each);
- 8 concurrent ``zoo add`` (8 of 8 entries);
- kill -9 of ``export --zoo`` at 5 moments spread over its run (the zoo verifies every time).

Prints one line per measurement and a JSON summary; exits 1 if any fails.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from conftest import make_checkpoint
from helpers_export import TINY, TINY_NAME, TINY_PP, write_record_folder
from helpers_gate import result_row, run_doc

from ecgbench.checkpoint import save_checkpoint
from ecgbench.zoo import Zoo, verify_artifacts

ENV = {**os.environ, "ECGBENCH_QUIET": "1", "COLUMNS": "200"}


def ecg(*args: object, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "ecgbench.cli", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env or ENV,
    )


def first_imports(tmp: Path, n: int = 16, times: int = 3) -> list[int]:
    docs = []
    for i in range(n):
        d = run_doc([result_row("m", 1.0 + i / 10, i)], seed=i)
        d.run_id = f"run{i:02d}"
        d.write(tmp / f"d{i}.json")
        docs.append(tmp / f"d{i}.json")
    landed = []
    for t in range(times):
        db = tmp / f"new{t}.db"
        procs = [ecg("store", "import", d, "--store", f"sqlite:///{db}") for d in docs]
        rcs = [p.wait() for p in procs]
        with sqlite3.connect(db) as c:
            runs = c.execute("SELECT count(*) FROM runs").fetchone()[0]
        print(f"first imports, try {t + 1}: {runs} of {n} runs stored, exit codes {set(rcs)}")
        landed.append(runs if set(rcs) == {0} else -1)
    return landed


def zoo_adds(tmp: Path, ckpt: Path, n: int = 8) -> int:
    zoo = tmp / "zoo-adds"
    procs = [ecg("zoo", "add", ckpt, "--name", f"m{i}", "--zoo-dir", zoo) for i in range(n)]
    rcs = [p.wait() for p in procs]
    entries = len(Zoo(zoo).entries)
    print(f"concurrent zoo add: {entries} of {n} entries, exit codes {set(rcs)}")
    return entries if set(rcs) == {0} else -1


def export_args(records: Path) -> list[str]:
    return [
        "export", "--model", TINY_NAME, "--precision", "int8", "--format", "openvino", "--zoo",
        "--force", "--no-verify", "--calibration", str(records), "--calibration-size", "8",
    ]  # fmt: skip


def verifies(root: Path) -> bool:
    try:
        zoo = Zoo(root)
        zoo.verify(TINY_NAME)
        verify_artifacts(zoo.entries[TINY_NAME])
        return bool(zoo.entries[TINY_NAME].artifacts.get("openvino-int8"))
    except Exception as e:
        print(f"  zoo does not verify: {e}")
        return False


def kills(tmp: Path, ckpt: Path, records: Path, moments: int = 5) -> list[bool]:
    root = tmp / "zoo-kill"
    Zoo(root).add(ckpt, TINY_NAME)
    env = {**ENV, "ECGBENCH_ZOO": str(root), "ECGBENCH_CACHE": str(tmp / "cache")}
    t0 = time.perf_counter()
    p = ecg(*export_args(records), env=env)
    assert p.wait() == 0, p.stderr.read() if p.stderr else ""
    full = time.perf_counter() - t0
    print(f"export --zoo --force, uninterrupted: {full:.1f} s, zoo verifies: {verifies(root)}")
    ok = []
    for k in range(moments):
        at = full * (0.15 + 0.8 * k / max(moments - 1, 1))  # from start-up to the bundling
        p = ecg(*export_args(records), env=env)
        time.sleep(at)
        p.send_signal(signal.SIGKILL)
        p.wait()
        good = verifies(root)
        print(f"kill -9 at {at:.1f} s of {full:.1f} s: zoo verifies: {good}")
        ok.append(good)
    return ok


def main() -> int:
    tmp = Path(tempfile.mkdtemp(prefix="ecgbench-acceptance-"))
    ckpt = tmp / f"{TINY_NAME}.pt"
    save_checkpoint(make_checkpoint(TINY, preprocessing=TINY_PP, decisive=True), ckpt)
    records = tmp / "records"
    write_record_folder(records)
    summary = {
        "first_imports_16": first_imports(tmp),
        "zoo_add_8": zoo_adds(tmp, ckpt),
        "kill_9_export_zoo": kills(tmp, ckpt, records),
    }
    print(json.dumps(summary))
    good = (
        summary["first_imports_16"] == [16, 16, 16]
        and summary["zoo_add_8"] == 8
        and all(summary["kill_9_export_zoo"])
    )
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
