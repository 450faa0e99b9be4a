"""Code and library changes: each revision's own ``ecgbench run``, whole runs alternating.

A side is a command and an environment: this environment with the checkout first on
``PYTHONPATH`` (code), or a virtual environment built from the checkout's own constraints
(libraries). Runs alternate base, head, head, base, … (asv's ``--interleave-rounds``), so a trend
over the job hits both sides alike; a pair of adjacent runs is the unit.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ecgbench.bench.results.document import RunDocument, read_run
from ecgbench.errors import BadInputError
from ecgbench.gate.changes import LIBRARY_FILES

RUN_TIMEOUT_S = 3600  # one side's whole `ecgbench run`


@dataclass(frozen=True)
class Side:
    """How to run ``ecgbench`` of one revision: a command and its environment."""

    name: str
    root: Path
    command: tuple[str, ...]
    env: dict[str, str]


def _package_hash(root: Path) -> str:
    """A hash of the checkout's package source: its exports are cached apart from other code's."""
    h = hashlib.sha256()
    for p in sorted((root / "ecgbench").rglob("*.py")):
        h.update(p.relative_to(root).as_posix().encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:12]


def _side_env(root: Path, base_env: dict[str, str]) -> dict[str, str]:
    """What every side shares with this process (the records), and what it must not (the export
    cache: an exporter change with the same weights must not reuse the other side's artifacts)."""
    from ecgbench.export.cache import default_cache_dir
    from ecgbench.export.sources import default_data_dir

    env = dict(base_env)
    env["ECGBENCH_ZOO"] = str(root / "models")
    env["ECGBENCH_CACHE"] = str(default_cache_dir() / f"gate-{_package_hash(root)}")
    data = default_data_dir()
    if data is not None:
        env["ECGBENCH_DATA"] = str(data)
    return env


def code_side(name: str, root: Path) -> Side:
    """This environment's libraries, the checkout's package (first on ``PYTHONPATH``)."""
    env = _side_env(root, {**os.environ, "PYTHONPATH": str(root)})
    return Side(name, root, (sys.executable, "-m", "ecgbench.cli"), env)


def environment_side(
    name: str, root: Path, cache: Path, log: Callable[[str], None] = print
) -> Side:
    """A virtual environment of the checkout's own constraints, cached by their hash.

    Extra pip arguments (a CPU-only torch index, say) come from ``$ECGBENCH_GATE_PIP_ARGS``."""
    import shlex

    h = hashlib.sha256()
    for f in LIBRARY_FILES:
        p = root / f
        h.update(p.read_bytes() if p.is_file() else b"-")
    venv = cache / f"env-{h.hexdigest()[:12]}"
    py = venv / "bin" / "python"
    if not (venv / ".complete").is_file():
        log(f"gate: building the {name} environment in {venv} (once per constraints)")
        cons = root / ".ci" / "constraints.txt"
        cmd = [str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        cmd += ["-c", str(cons)] if cons.is_file() else []
        cmd += shlex.split(os.environ.get("ECGBENCH_GATE_PIP_ARGS", ""))
        for step in ([sys.executable, "-m", "venv", "--clear", str(venv)], [*cmd, str(root)]):
            r = subprocess.run(step, capture_output=True, text=True)
            if r.returncode:
                lines = (r.stderr + r.stdout).strip().splitlines() or ["failed"]
                why = next((ln for ln in lines if ln.startswith("ERROR")), lines[-1])
                raise BadInputError(f"gate: cannot build the {name} environment: {why}")
        (venv / ".complete").write_text("ok\n")
    env = _side_env(root, {k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    return Side(name, root, (str(py), "-m", "ecgbench.cli"), env)


def run_side(side: Side, suite: Path, out: Path) -> RunDocument:
    cmd = [*side.command, "run", "--suite", str(suite), "--output", str(out), "--no-store"]
    try:
        r = subprocess.run(
            cmd,
            env={**side.env, "ECGBENCH_QUIET": "1"},
            cwd=side.root,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        raise BadInputError(f"gate: the {side.name} run took over {RUN_TIMEOUT_S} s") from None
    if r.returncode:
        tail = (r.stderr.strip().splitlines() or r.stdout.strip().splitlines() or ["?"])[-1]
        raise BadInputError(f"gate: the {side.name} run failed (exit {r.returncode}): {tail}")
    return read_run(out)


def alternate_runs(
    base: Side,
    head: Side,
    suite: Path,
    repeats: int,
    work: Path,
    log: Callable[[str], None] = print,
) -> list[tuple[RunDocument, RunDocument]]:
    """base, head, head, base, …: a trend over the job hits both sides alike."""
    pairs = []
    for i in range(repeats):
        order = (base, head) if i % 2 == 0 else (head, base)
        docs = {s.name: run_side(s, suite, work / f"{i:02d}-{s.name}.json") for s in order}
        pairs.append((docs[base.name], docs[head.name]))
        log(f"gate: pair {i + 1}/{repeats} timed")
    return pairs
