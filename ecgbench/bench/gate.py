"""The same-job latency gate: base and head timed on one machine, in one job, no stored baseline.

A hosted runner's CPU changes from job to job, so a baseline recorded on another job compares two
machines as much as two revisions. Like ``asv continuous BASE HEAD``, this times both revisions
here and now, and what differs between them decides how:

- **models** (only ``models/`` or ``runners/`` differ): one process loads both zoos and times every
  variant of both sides in the same interleaved rounds; each round gives head's slice over base's
  slice, the strongest pairing there is.
- **code** (the package differs, its libraries do not): each side runs ``ecgbench run`` from its
  own checkout in this environment (``PYTHONPATH``), whole runs alternating base, head, head,
  base, … (asv's ``--interleave-rounds``); a pair of adjacent runs is the unit.
- **libraries** (``.ci/constraints.txt`` or ``pyproject.toml`` differ): as for code, each side in
  its own virtual environment built from its own constraints (cached by their hash).

Verdicts follow the gate's rule: the paired ratio above the threshold, its 95 % interval above 1
and the paired test significant; anything inside the noise is unchanged (``paired_verdict``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ecgbench.bench.fingerprint import ModelReference, collect_fingerprint
from ecgbench.bench.results import ROW_KEY, ResultRow, RunDocument, read_run
from ecgbench.bench.speedup import median_ci, paired_round_ratios
from ecgbench.bench.suite import RunPlan, load_suite
from ecgbench.bench.timing import LatencyStats, StopRule, TimedVariant, time_interleaved
from ecgbench.errors import BadInputError
from ecgbench.regress import (
    NOT_COMPARABLE,
    Comparison,
    GateSettings,
    Verdict,
    gate_verdict,
)

MODELS, CODE, LIBRARIES, NONE = "models", "code", "libraries", "none"
LIBRARY_FILES = (".ci/constraints.txt", "pyproject.toml")
MODEL_DIRS = ("models/", "runners/")
CODE_DIRS = ("ecgbench/",)
RUN_TIMEOUT_S = 3600  # one side's whole `ecgbench run`


@dataclass(frozen=True)
class Change:
    """What differs between base and head, and so how the gate times them."""

    files: tuple[str, ...]
    # pyproject.toml changed but not its runtime dependencies (lint settings, test extras)
    same_dependencies: bool = False

    @property
    def libraries(self) -> bool:
        if ".ci/constraints.txt" in self.files:
            return True
        return "pyproject.toml" in self.files and not self.same_dependencies

    @property
    def code(self) -> bool:
        return any(f.startswith(CODE_DIRS) for f in self.files)

    @property
    def models(self) -> bool:
        return any(f.startswith(MODEL_DIRS) for f in self.files)

    @property
    def mode(self) -> str:
        """The cheapest way that still times what changed (tests, docs: nothing to time)."""
        if self.libraries:
            return LIBRARIES
        if self.code:
            return CODE
        return MODELS if self.models else NONE


def _git(repo: Path, *args: str) -> str:
    try:
        r = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    except FileNotFoundError as e:
        raise BadInputError("git is not installed") from e
    if r.returncode:
        msg = (r.stderr.strip().splitlines() or ["git failed"])[-1]
        raise BadInputError(f"git {' '.join(args)}: {msg}")
    return r.stdout


def resolve_revision(repo: Path, rev: str) -> str:
    """The commit a revision names (one clear line for a name git does not know)."""
    if not (repo / ".git").exists() and not _is_git(repo):
        raise BadInputError(f"{repo} is not a git repository (give --repo, or two folders)")
    try:
        return _git(repo, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}").strip()
    except BadInputError:
        raise BadInputError(f"unknown revision {rev!r} in {repo}") from None


def _is_git(repo: Path) -> bool:
    try:
        return _git(repo, "rev-parse", "--is-inside-work-tree").strip() == "true"
    except BadInputError:
        return False


def _dependencies(repo: Path, rev: str) -> list[str] | None:
    try:
        return _dependencies_of(_git(repo, "show", f"{rev}:pyproject.toml"))
    except BadInputError:
        return None


def changed_files(repo: Path, base: str, head: str) -> Change:
    out = _git(repo, "diff", "--name-only", base, head)
    files = tuple(sorted(x for x in out.splitlines() if x))
    same = "pyproject.toml" in files and _dependencies(repo, base) == _dependencies(repo, head)
    return Change(files, same_dependencies=same)


def _tree_files(root: Path) -> dict[str, str]:
    """Relative path -> sha256 of what decides timing: the package, models, runners, pins."""
    out: dict[str, str] = {}
    for top in ("ecgbench", "models", "runners"):
        for p in (root / top).rglob("*"):
            if p.is_file() and "__pycache__" not in p.parts:
                out[p.relative_to(root).as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
    for f in LIBRARY_FILES:
        if (root / f).is_file():
            out[f] = hashlib.sha256((root / f).read_bytes()).hexdigest()
    return out


def _dependencies_of(text: str) -> list[str] | None:
    from ecgbench.tomlio import tomllib

    try:
        return sorted(tomllib.loads(text).get("project", {}).get("dependencies", []))
    except tomllib.TOMLDecodeError:
        return None


def folder_change(base: Path, head: Path) -> Change:
    """What differs between two checkouts (or two model folders, as ``models/``)."""
    if not (base / "ecgbench").is_dir() or not (head / "ecgbench").is_dir():
        return Change(("models/",))  # model folders: their models, timed with this package
    a, b = _tree_files(base), _tree_files(head)
    files = tuple(sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k)))
    same = "pyproject.toml" in files and _dependencies_of(
        (base / "pyproject.toml").read_text()
    ) == _dependencies_of((head / "pyproject.toml").read_text())
    return Change(files, same_dependencies=same)


def checkout(repo: Path, rev: str, dest: Path) -> Path:
    """The tree of ``rev`` written to ``dest`` (``git archive``: no work tree is touched)."""
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile() as tar:
        r = subprocess.run(["git", "-C", str(repo), "archive", "--format=tar", rev], stdout=tar,
                           stderr=subprocess.PIPE, text=False)  # fmt: skip
        if r.returncode:
            raise BadInputError(f"git archive {rev}: {r.stderr.decode().strip()}")
        tar.seek(0)
        with tarfile.open(fileobj=tar) as t:
            try:
                t.extractall(dest, filter="data")
            except TypeError:  # Python without extraction filters (3.10 before 3.10.12)
                t.extractall(dest)  # our own repository's tree
    return dest


# --------------------------------------------------------------------------- verdicts
def wilcoxon_p(ratios: np.ndarray) -> float:
    """Two-sided signed-rank p of log-ratios around 0 (1.0 when it cannot be computed)."""
    from scipy.stats import wilcoxon

    d = np.log(ratios)
    if len(d) < 2 or not np.any(d):
        return 1.0
    return float(wilcoxon(d).pvalue)


def log_t_interval(ratios: np.ndarray, level: float = 0.95) -> tuple[float, float, float, float]:
    """Geometric mean of few paired ratios, its t-interval and the t-test p (log scale).

    Whole runs are few (3–10 pairs): a bootstrap of so few points is no interval, and a rank
    test cannot reach 5 % below 6 pairs; log-ratios of whole runs are near normal."""
    from scipy import stats

    d = np.log(ratios)
    n, m = len(d), float(np.mean(d))
    sd = float(np.std(d, ddof=1))
    if sd == 0.0:
        return float(np.exp(m)), float(np.exp(m)), float(np.exp(m)), 0.0 if m else 1.0
    half = float(stats.t.ppf((1 + level) / 2, n - 1)) * sd / np.sqrt(n)
    p = float(stats.ttest_1samp(d, 0.0).pvalue)
    return float(np.exp(m)), float(np.exp(m - half)), float(np.exp(m + half)), p


def paired_verdict(
    key: dict[str, Any], ratios: np.ndarray, base_ms: float, head_ms: float, s: GateSettings,
    unit: str,
) -> Verdict:  # fmt: skip
    """The gate's rule on paired ratios (head over base): threshold, interval and test.

    ``unit="round"`` (many interleaved rounds): median, bootstrap interval, signed-rank test.
    ``unit="run"`` (a few alternated whole runs): geometric mean, t-interval, t-test."""
    if len(ratios) < 3:
        return Verdict(key, NOT_COMPARABLE, note=f"{len(ratios)} paired {unit}s (need 3)")
    if unit == "round":
        ratio = float(np.median(ratios))
        lo, hi = median_ci(ratios, n_boot=s.n_boot, seed=s.seed)
        p = wilcoxon_p(ratios)
    else:
        ratio, lo, hi, p = log_t_interval(ratios)
    v = gate_verdict(ratio, lo, hi, p, s)
    return Verdict(key=key, verdict=v, ratio=ratio, raw_ratio=head_ms / base_ms, ci_low=lo,
                   ci_high=hi, p_value=p, baseline_ms=base_ms, current_ms=head_ms,
                   note=f"{len(ratios)} {unit}s paired")  # fmt: skip


# What a head row is judged against: the same variant as asked. Unlike a stored baseline, the
# input length and the executed arithmetic are part of what a revision may change (a longer
# window, a model that now runs bf16): they are shown, not used to keep rows apart.
PAIR_KEY = ("model", "backend", "device", "precision", "scenario", "batch")


def _row_key(r: ResultRow) -> tuple:
    return tuple(getattr(r, k) for k in PAIR_KEY)


def _key_dict(r: ResultRow) -> dict[str, Any]:
    return {k: getattr(r, k) for k in ROW_KEY}


def _what_changed(b: ResultRow, h: ResultRow) -> str:
    out = []
    if list(b.input_shape) != list(h.input_shape):
        out.append(
            f"input {'x'.join(map(str, b.input_shape))} → {'x'.join(map(str, h.input_shape))}"
        )
    if b.executed != h.executed:
        out.append(f"ran as {b.executed} → {h.executed}")
    return "; ".join(out)


def _with_note(v: Verdict, extra: str) -> Verdict:
    if extra:
        v.note = f"{v.note}; {extra}" if v.note else extra
    return v


def compare_same_run(base: RunDocument, head: RunDocument, s: GateSettings) -> Comparison:
    """Rows timed in the same interleaved rounds: one ratio per round."""
    b = {_row_key(r): r for r in base.rows}
    h = {_row_key(r): r for r in head.rows}
    out = []
    for k in sorted(set(b) | set(h), key=str):
        if k not in h or k not in b:
            r = b.get(k) or h[k]
            where = "base" if k in b else "head"
            out.append(Verdict(_key_dict(r), NOT_COMPARABLE, note=f"only in {where}"))
            continue
        ratios = paired_round_ratios(b[k], h[k])
        v = paired_verdict(_key_dict(h[k]), ratios, b[k].median_ms, h[k].median_ms, s, "round")
        out.append(_with_note(v, _what_changed(b[k], h[k])))
    return Comparison(verdicts=out, drift=None, settings=s)


def compare_run_pairs(pairs: list[tuple[RunDocument, RunDocument]], s: GateSettings) -> Comparison:
    """Whole runs alternated base/head: one ratio (of the runs' medians) per adjacent pair."""
    keys: dict[tuple, dict[str, Any]] = {}
    ratios: dict[tuple, list[float]] = {}
    med: dict[tuple, tuple[list[float], list[float]]] = {}
    only: dict[tuple, str] = {}
    changed: dict[tuple, str] = {}
    for base, head in pairs:
        b = {_row_key(r): r for r in base.rows}
        h = {_row_key(r): r for r in head.rows}
        for k in set(b) | set(h):
            keys.setdefault(k, _key_dict(h.get(k) or b[k]))
            if k not in b or k not in h:
                only[k] = "base" if k in b else "head"
                continue
            ratios.setdefault(k, []).append(h[k].median_ms / b[k].median_ms)
            changed[k] = _what_changed(b[k], h[k])
            mb, mh = med.setdefault(k, ([], []))
            mb.append(b[k].median_ms)
            mh.append(h[k].median_ms)
    out = []
    for k in sorted(keys, key=str):
        if k not in ratios:
            out.append(Verdict(keys[k], NOT_COMPARABLE, note=f"only in {only.get(k, '?')}"))
            continue
        mb, mh = med[k]
        v = paired_verdict(keys[k], np.array(ratios[k]), float(np.median(mb)),
                           float(np.median(mh)), s, "run")  # fmt: skip
        out.append(_with_note(v, changed.get(k, "")))
    return Comparison(verdicts=out, drift=None, settings=s)


# --------------------------------------------------------------------------- models: one process
@dataclass
class GateResult:
    mode: str
    base: str
    head: str
    comparison: Comparison
    fingerprint: dict[str, Any]
    seconds: float
    change: Change
    documents: list[tuple[RunDocument, RunDocument]] = field(default_factory=list)
    note: str = ""

    @property
    def exit_code(self) -> int:
        return self.comparison.exit_code

    def cpu_line(self) -> str:
        fp = self.fingerprint
        from ecgbench.precision import int8_isa

        return (f"{fp.get('cpu_model', '?')} · {fp.get('threads', '?')} threads · "
                f"INT8: {int8_isa(fp.get('isa', []))} · machine {fp.get('machine_id', '?')}")  # fmt: skip


def time_zoos(
    plan: RunPlan, zoo_dirs: list[Path], log=print, show_progress: bool = False
) -> list[RunDocument]:
    """Every variant of ``plan`` from each zoo, all timed in the same interleaved rounds."""
    from ecgbench.bench.rows import result_row
    from ecgbench.bench.runner import (
        RunOptions,
        default_threads,
        load_variants,
    )
    from ecgbench.zoo import Zoo

    plan.validate()
    threads = plan.threads or default_threads()
    opts = RunOptions(use_store=False, show_progress=show_progress)
    fp = collect_fingerprint(threads).to_dict()
    sides = []
    for root in zoo_dirs:
        zoo = Zoo(root)
        names = (
            zoo.names() if "all" in plan.models else [m for m in plan.models if m in zoo.entries]
        )
        if not names:
            raise BadInputError(f"{root}: none of the suite's models is in this zoo")
        sides.append(load_variants(replace(plan, models=tuple(names)), opts, zoo, threads, log))
    ref = ModelReference(threads)
    ref_timed = TimedVariant(label=ref.label, run=ref.run)
    rule = StopRule(min_duration_s=plan.duration, min_iters=plan.min_iters, warmup_s=plan.warmup,
                    round_s=plan.round_s, settle_s=plan.settle_s)  # fmt: skip
    from itertools import chain, zip_longest

    # base and head variant by variant (b0, h0, b1, h1, …): each pair has the same neighbours
    order = [v for v in chain.from_iterable(zip_longest(*sides)) if v is not None]
    try:
        time_interleaved([it.timed for it in order] + [ref_timed], rule)
    finally:
        for side in sides:
            for it in side:
                it.backend.close()
    reference = {"model": {"label": ref.label, "samples_ns": list(ref_timed.samples_ns),
                           "slices": [list(x) for x in ref_timed.slices],
                           "median_ms": LatencyStats.from_ns(ref_timed.samples_ns).median_ms}}  # fmt: skip
    docs = []
    for side in sides:
        rows = [
            result_row(it, plan, threads, {}, LatencyStats.from_ns(s, it.batch), s, True)
            for it in side
            if (s := list(it.timed.samples_ns))
        ]
        docs.append(RunDocument(fingerprint=dict(fp), rows=rows, reference=dict(reference),
                                complete=True, suite=plan.name))  # fmt: skip
    return docs


# --------------------------------------------------------------------------- code / libraries
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
    from ecgbench.export.pipeline import default_data_dir

    env = dict(base_env)
    env["ECGBENCH_ZOO"] = str(root / "models")
    env["ECGBENCH_CACHE"] = str(default_cache_dir() / f"gate-{_package_hash(root)}")
    data = default_data_dir()  # a checkout in /tmp cannot find ../shared beside itself
    if data is not None:
        env["ECGBENCH_DATA"] = str(data)
    return env


def code_side(name: str, root: Path) -> Side:
    """This environment's libraries, the checkout's package (first on ``PYTHONPATH``)."""
    env = _side_env(root, {**os.environ, "PYTHONPATH": str(root)})
    return Side(name, root, (sys.executable, "-m", "ecgbench.cli"), env)


def environment_side(name: str, root: Path, cache: Path, log=print) -> Side:
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
        r = subprocess.run(cmd, env={**side.env, "ECGBENCH_QUIET": "1"}, cwd=side.root,
                           capture_output=True, text=True, timeout=RUN_TIMEOUT_S)  # fmt: skip
    except subprocess.TimeoutExpired:
        raise BadInputError(f"gate: the {side.name} run took over {RUN_TIMEOUT_S} s") from None
    if r.returncode:
        tail = (r.stderr.strip().splitlines() or r.stdout.strip().splitlines() or ["?"])[-1]
        raise BadInputError(f"gate: the {side.name} run failed (exit {r.returncode}): {tail}")
    return read_run(out)


def alternate_runs(
    base: Side, head: Side, suite: Path, repeats: int, work: Path, log=print
) -> list[tuple[RunDocument, RunDocument]]:
    """base, head, head, base, …: a trend over the job hits both sides alike."""
    pairs = []
    for i in range(repeats):
        order = (base, head) if i % 2 == 0 else (head, base)
        docs = {s.name: run_side(s, suite, work / f"{i:02d}-{s.name}.json") for s in order}
        pairs.append((docs[base.name], docs[head.name]))
        log(f"gate: pair {i + 1}/{repeats} timed")
    return pairs


# --------------------------------------------------------------------------- the command
def _side_root(repo: Path, rev: str, work: Path, name: str) -> tuple[Path, str]:
    """A directory given as is (a checkout, or a model folder); a revision checked out."""
    p = Path(rev)
    if p.is_dir():
        return p.resolve(), str(p)
    sha = resolve_revision(repo, rev) if rev else ""
    if not sha:
        raise BadInputError(f"{rev!r} is neither a folder nor a revision of {repo}")
    return checkout(repo, sha, work / name), f"{rev} ({sha[:10]})"


def _models_dir(root: Path) -> Path:
    return root / "models" if (root / "models" / "zoo.toml").is_file() else root


def same_job_gate(
    base: str,
    head: str,
    suite: str = "runners/ci.toml",
    repo: Path = Path("."),
    settings: GateSettings | None = None,
    mode: str = "auto",
    repeats: int = 6,
    duration: float | None = None,
    work: Path | None = None,
    log=print,
) -> GateResult:
    """Time ``base`` and ``head`` (revisions of ``repo``, or folders) here, and judge head."""
    s = settings or GateSettings()
    t0 = time.perf_counter()
    own_work = work is None
    work = work or Path(tempfile.mkdtemp(prefix="ecgbench-gate-"))
    try:
        return _same_job_gate(base, head, suite, repo.resolve(), s, mode, repeats, duration,
                              work, log, t0)  # fmt: skip
    finally:
        if own_work:
            shutil.rmtree(work, ignore_errors=True)


def _same_job_gate(
    base: str, head: str, suite: str, repo: Path, s: GateSettings, mode: str, repeats: int,
    duration: float | None, work: Path, log, t0: float,
) -> GateResult:  # fmt: skip
    dirs = Path(base).is_dir() or Path(head).is_dir()
    if dirs:
        if not (Path(base).is_dir() and Path(head).is_dir()):
            raise BadInputError("give two folders or two revisions, not one of each")
        change = folder_change(Path(base).resolve(), Path(head).resolve())
    else:
        resolve_revision(repo, base)
        resolve_revision(repo, head)
        change = changed_files(repo, base, head)
    use = change.mode if mode == "auto" else mode
    if use not in (MODELS, CODE, LIBRARIES, NONE):
        raise BadInputError(f"--mode is auto, {MODELS}, {CODE} or {LIBRARIES}")
    if use == NONE:  # docs, tests: nothing that runs differs (--mode models times an A/A anyway)
        log("gate: nothing that runs differs between base and head: nothing to time")
        return GateResult(mode=NONE, base=base, head=head, comparison=Comparison(verdicts=[], drift=None, settings=s),
                          fingerprint={}, seconds=time.perf_counter() - t0, change=change,
                          note="nothing that runs differs (only " + ", ".join(change.files[:5])
                          + "): nothing timed")  # fmt: skip
    broot, blabel = _side_root(repo, base, work, "base")
    hroot, hlabel = _side_root(repo, head, work, "head")
    suite_path = hroot / suite if (hroot / suite).is_file() else Path(suite)
    if not suite_path.is_file():
        raise BadInputError(f"runner profile not found: {suite}")
    plan = load_suite(suite_path)
    if duration is not None:
        plan = replace(plan, duration=duration)
    pairs: list[tuple[RunDocument, RunDocument]] = []
    if use == MODELS:
        log(f"gate: models differ: one process times {blabel} and {hlabel} interleaved")
        b, h = time_zoos(plan, [_models_dir(broot), _models_dir(hroot)], log)
        pairs = [(b, h)]
        cmp = compare_same_run(b, h, s)
        fp = h.fingerprint
    else:
        if not ((broot / "ecgbench").is_dir() and (hroot / "ecgbench").is_dir()):
            raise BadInputError("code/libraries mode needs two checkouts with ecgbench/ in them")
        prof = work / "suite.toml"
        _write_suite(suite_path, prof, duration)
        if use == CODE:
            log(f"gate: code differs: whole runs of {blabel} and {hlabel} alternate, this env")
            sides = code_side("base", broot), code_side("head", hroot)
        else:
            log("gate: libraries differ: each side in its own environment, runs alternate")
            from ecgbench.export.cache import default_cache_dir

            envs = default_cache_dir().parent / "gate-envs"
            sides = (
                environment_side("base", broot, envs, log),
                environment_side("head", hroot, envs, log),
            )
        pairs = alternate_runs(sides[0], sides[1], prof, repeats, work, log)
        cmp = compare_run_pairs(pairs, s)
        fp = pairs[0][1].fingerprint
    note = ""
    if any(f.startswith("runners/") for f in change.files):
        note = f"the runner profile changed: both sides were timed with head's {suite}"
    return GateResult(mode=use, base=blabel, head=hlabel, comparison=cmp, fingerprint=fp,
                      seconds=time.perf_counter() - t0, change=change, documents=pairs,
                      note=note)  # fmt: skip


def _write_suite(src: Path, dest: Path, duration: float | None) -> None:
    """The head's runner profile, with the gate's duration, for both sides' ``ecgbench run``."""
    text = src.read_text()
    if duration is not None:
        lines = [ln for ln in text.splitlines() if not ln.strip().startswith("duration")]
        text = "\n".join([f"duration = {duration}", *lines]) + "\n"
    dest.write_text(text)


def gate_markdown(r: GateResult) -> str:
    from ecgbench.regress import markdown_summary

    changed = ", ".join(r.change.files[:8]) + (" …" if len(r.change.files) > 8 else "")
    if r.mode == NONE:
        return (f"## ecgbench same-job gate: nothing to time\n\n**Base:** {r.base} · **Head:** "
                f"{r.head}  \n**Changed:** {changed or '(nothing)'}  \n{r.note}\n")  # fmt: skip
    how = {MODELS: "one process, base and head interleaved round by round",
           CODE: "whole runs alternating base/head in this environment",
           LIBRARIES: "whole runs alternating, each side in its own environment"}[r.mode]  # fmt: skip
    md = markdown_summary(r.comparison, title=f"ecgbench same-job gate ({r.mode})")
    head, _, rest = md.partition("\n")
    info = (f"\n\n**Ran on:** {r.cpu_line()}  \n**Base:** {r.base} · **Head:** {r.head} · "
            f"{how} · {r.seconds:.0f} s  \n**Changed:** {changed or '(nothing)'}")  # fmt: skip
    if r.note:
        info += f"  \n**Note:** {r.note}"
    notes = [f"- {v.key['model']} {v.key['backend']} {v.key['precision']}: {v.note}"
             for v in r.comparison.verdicts if v.note and "→" in v.note]  # fmt: skip
    tail = (
        ("\nWhat else changed between base and head:\n\n" + "\n".join(notes) + "\n")
        if notes
        else ""
    )
    return head + info + rest + tail
