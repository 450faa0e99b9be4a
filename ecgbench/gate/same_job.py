"""The same-job latency gate: base and head timed on one machine, in one job, no stored baseline.

A hosted runner's CPU changes from job to job, so a baseline recorded on another job compares two
machines as much as two revisions. Like ``asv continuous BASE HEAD``, this times both revisions
here and now, and what differs between them (:mod:`ecgbench.gate.changes`) decides how:

- **models**: one process loads both zoos and times every variant of both sides in the same
  interleaved rounds; each round gives head's slice over base's slice, the strongest pairing there
  is.
- **code** and **libraries**: each side runs ``ecgbench run`` from its own checkout, whole runs
  alternating (:mod:`ecgbench.gate.sides`); a pair of adjacent runs is the unit.

Verdicts follow the gate's rule on the paired ratios (:mod:`ecgbench.gate.verdicts`): anything
inside the noise is unchanged.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ecgbench.bench.results.document import RunDocument
from ecgbench.bench.suite import Suite, load_suite
from ecgbench.errors import BadInputError
from ecgbench.gate.accuracy import (
    AccuracySettings,
    AccuracyVerdict,
    accuracy_guard,
    guard_exit_code,
)
from ecgbench.gate.changes import (
    CODE,
    LIBRARIES,
    MODELS,
    NONE,
    Change,
    changed_files,
    checkout,
    folder_change,
    resolve_revision,
)
from ecgbench.gate.sides import Side, alternate_runs, code_side, environment_side
from ecgbench.gate.verdicts import (
    Comparison,
    GateSettings,
    compare_run_pairs,
    compare_same_run,
    confirm_run_pairs,
    confirm_same_run,
    flagged_keys,
)
from ecgbench.gate.zoo_timing import time_zoos

Log = Callable[[str], None]


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
    accuracy: list[AccuracyVerdict] = field(default_factory=list)  # empty: no --data
    accuracy_seconds: float = 0.0
    roots: tuple[Path, Path] = (Path("."), Path("."))  # base's and head's trees, while they exist

    @property
    def exit_code(self) -> int:
        """1 on a latency or an accuracy regression; else 4 when either is inconclusive."""
        codes = (self.comparison.exit_code, guard_exit_code(self.accuracy))
        return 1 if 1 in codes else max(codes)


# --------------------------------------------------------------------------- models: one process
def what_changed(base: str, head: str, repo: Path) -> Change:
    """Two folders compared by content, or two revisions of ``repo`` by ``git diff``."""
    if Path(base).is_dir() or Path(head).is_dir():
        if not (Path(base).is_dir() and Path(head).is_dir()):
            raise BadInputError("give two folders or two revisions, not one of each")
        return folder_change(Path(base).resolve(), Path(head).resolve())
    resolve_revision(repo, base)
    resolve_revision(repo, head)
    return changed_files(repo, base, head)


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


def _write_suite(
    src: Path, dest: Path, duration: float | None, models: list[str] | None = None
) -> None:
    """The head's suite, with the gate's duration (and only ``models``), for ``ecgbench run``."""
    lines = src.read_text().splitlines()
    top = []
    if duration is not None:
        lines = [ln for ln in lines if not ln.strip().startswith("duration")]
        top.append(f"duration = {duration}")
    if models is not None:
        lines = [ln for ln in lines if not ln.strip().startswith("models")]
        top.append("models = [" + ", ".join(f'"{m}"' for m in models) + "]")
    dest.write_text("\n".join([*top, *lines]) + "\n")


def _sides(
    use: str, broot: Path, hroot: Path, blabel: str, hlabel: str, log: Log
) -> tuple[Side, Side]:
    if use == CODE:
        log(f"gate: code differs: whole runs of {blabel} and {hlabel} alternate, this env")
        return code_side("base", broot), code_side("head", hroot)
    log("gate: libraries differ: each side in its own environment, runs alternate")
    from ecgbench.export.cache import default_cache_dir

    envs = default_cache_dir().parent / "gate-envs"
    return environment_side("base", broot, envs, log), environment_side("head", hroot, envs, log)


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
    log: Log = print,
    zoo: str | None = None,
    data: Path | None = None,
    accuracy: AccuracySettings | None = None,
) -> GateResult:
    """Time ``base`` and ``head`` (revisions of ``repo``, or folders) here, and judge head.

    ``zoo``: the zoo's folder inside each side (a user's repository with its own models and
    cards, ecgbench installed as a package): both zoos are timed in one process with the
    installed ecgbench, whatever else differs; nothing is timed when neither it nor the suite did.
    ``data``: real records on which every timed key's base and head are also scored
    (:mod:`ecgbench.gate.accuracy`); keys whose sources are identical inherit base's answer.
    """
    s = settings or GateSettings()
    acc = accuracy or AccuracySettings()
    if data is not None:
        acc.validate()  # bad tolerances fail before anything is timed
        if not Path(data).is_dir():
            raise BadInputError(f"--data {data}: not a folder of records")
    t0 = time.perf_counter()
    own_work = work is None
    work = work or Path(tempfile.mkdtemp(prefix="ecgbench-gate-"))
    try:
        r = _same_job_gate(
            base, head, suite, repo.resolve(), s, mode, repeats, duration, work, log, zoo
        )
        if data is not None and r.mode != NONE:
            t1 = time.perf_counter()
            keys = list(
                dict.fromkeys(
                    (v.key["model"], v.key["backend"], v.key["precision"], v.key.get("executed"))
                    for v in r.comparison.verdicts
                )
            )
            broot, hroot = r.roots
            bz, hz = (broot / zoo, hroot / zoo) if zoo else (_models_dir(broot), _models_dir(hroot))
            r.accuracy = accuracy_guard(keys, bz, hz, Path(data), acc, log)
            r.accuracy_seconds = time.perf_counter() - t1
        r.seconds = time.perf_counter() - t0
        return r
    finally:
        if own_work:
            shutil.rmtree(work, ignore_errors=True)


def _same_job_gate(
    base: str,
    head: str,
    suite: str,
    repo: Path,
    s: GateSettings,
    mode: str,
    repeats: int,
    duration: float | None,
    work: Path,
    log: Log,
    zoo: str | None = None,
) -> GateResult:
    change = what_changed(base, head, repo)
    use = _timing_mode(change, mode, zoo, suite)
    if use == NONE:  # docs, tests: nothing that runs differs (--mode models times an A/A anyway)
        return _nothing_timed(base, head, change, s, log)
    broot, blabel = _side_root(repo, base, work, "base")
    hroot, hlabel = _side_root(repo, head, work, "head")
    suite_path, plan = _head_plan(hroot, suite, duration)
    if use == MODELS:
        log(f"gate: models differ: one process times {blabel} and {hlabel} interleaved")
        zoos = [broot / zoo, hroot / zoo] if zoo else [_models_dir(broot), _models_dir(hroot)]
        pairs, cmp = _judge_zoos(plan, zoos, s, log)
    else:
        prof = _run_profile(broot, hroot, suite_path, duration, work)
        sides = _sides(use, broot, hroot, blabel, hlabel, log)
        pairs, cmp = _judge_runs(sides, prof, suite_path, duration, repeats, work, s, log)
    note = ""
    if any(f.startswith("runners/") for f in change.files):
        note = f"the suite changed: both sides were timed with head's {suite}"
    return GateResult(
        mode=use,
        base=blabel,
        head=hlabel,
        comparison=cmp,
        fingerprint=pairs[0][1].fingerprint,
        seconds=0.0,
        change=change,
        documents=pairs,
        note=note,
        roots=(broot, hroot),
    )


def _timing_mode(change: Change, mode: str, zoo: str | None, suite: str) -> str:
    """How to time: what changed decides under auto; with a zoo, only the zoo or suite counts."""
    use = change.mode if mode == "auto" else mode
    if zoo is not None and mode == "auto":
        prefix = zoo.strip("/") + "/"
        touched = any(f.startswith(prefix) or f == suite for f in change.files)
        use = MODELS if touched else NONE
    if use not in (MODELS, CODE, LIBRARIES, NONE):
        raise BadInputError(f"--mode is auto, {MODELS}, {CODE} or {LIBRARIES}")
    return use


def _nothing_timed(base: str, head: str, change: Change, s: GateSettings, log: Log) -> GateResult:
    """Nothing that runs differs: an empty verdict whose note names the files that did."""
    log("gate: nothing that runs differs between base and head: nothing to time")
    files = change.files
    only = (
        f"only {', '.join(files[:5])}" + (f" and {len(files) - 5} more" if len(files) > 5 else "")
        if files
        else "no file differs"
    )
    return GateResult(
        mode=NONE,
        base=base,
        head=head,
        comparison=Comparison(verdicts=[], drift=None, settings=s),
        fingerprint={},
        seconds=0.0,
        change=change,
        note=f"nothing that runs differs ({only}): nothing timed",
    )


def _head_plan(hroot: Path, suite: str, duration: float | None) -> tuple[Path, Suite]:
    """Head's suite (else ``suite`` as given) with the gate's duration: both sides run it."""
    suite_path = hroot / suite if (hroot / suite).is_file() else Path(suite)
    if not suite_path.is_file():
        raise BadInputError(f"suite not found: {suite}")
    plan = load_suite(suite_path)
    if duration is not None:
        plan = replace(plan, duration=duration)
    return suite_path, plan


def _judge_zoos(
    plan: Suite, zoos: list[Path], s: GateSettings, log: Log
) -> tuple[list[tuple[RunDocument, ...]], Comparison]:
    """Models mode: both zoos in one process's rounds; flagged keys re-timed before they fail."""
    pairs = [tuple(time_zoos(plan, zoos, log))]
    cmp = compare_same_run(*pairs[0], s)
    again = {(k["model"], k["backend"], k["precision"]) for k in flagged_keys(cmp)}
    if again and s.confirm:
        log(f"gate: {len(again)} key(s) flagged: re-timing just those to confirm")
        pairs.append(tuple(time_zoos(plan, zoos, log, only=again)))
        cmp = confirm_same_run(cmp, pairs, s)
    return pairs, cmp


def _run_profile(
    broot: Path, hroot: Path, suite_path: Path, duration: float | None, work: Path
) -> Path:
    """Code/libraries mode runs ``ecgbench run`` in each checkout: both need ecgbench/ and a suite."""
    if not ((broot / "ecgbench").is_dir() and (hroot / "ecgbench").is_dir()):
        raise BadInputError("code/libraries mode needs two checkouts with ecgbench/ in them")
    prof = work / "suite.toml"
    _write_suite(suite_path, prof, duration)
    return prof


def _judge_runs(
    sides: tuple[Side, Side],
    prof: Path,
    suite_path: Path,
    duration: float | None,
    repeats: int,
    work: Path,
    s: GateSettings,
    log: Log,
) -> tuple[list[tuple[RunDocument, RunDocument]], Comparison]:
    """Code/libraries mode: whole runs alternate; flagged models get more pairs before failing."""
    pairs = alternate_runs(sides[0], sides[1], prof, repeats, work, log)
    cmp = compare_run_pairs(pairs, s)
    flagged = flagged_keys(cmp)
    if flagged and s.confirm:
        models = sorted({k["model"] for k in flagged})
        log(f"gate: {len(flagged)} key(s) flagged: {repeats} more pairs of {', '.join(models)}")
        again = work / "confirm"
        again.mkdir(exist_ok=True)
        _write_suite(suite_path, again / "suite.toml", duration, models)
        more = alternate_runs(sides[0], sides[1], again / "suite.toml", repeats, again, log)
        cmp = confirm_run_pairs(cmp, pairs + more, s)
        pairs += more
    return pairs, cmp
