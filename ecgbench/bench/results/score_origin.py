"""Where a row's score was measured: this machine, or another CPU (the zoo manifest's scores).

INT8 (and any) scores can differ by CPU, so a score measured elsewhere is shown with a mark and a
footnote naming the CPU, in the run table, the report and ``recommend``. The row carries it in its
``accuracy.note`` (``score measured on <CPU>``), which older runs already wrote.
"""

from __future__ import annotations

from collections.abc import Iterable

MARK = "‡"
_PREFIX = "score measured on "
FIX = "`ecgbench evaluate --zoo` on this machine measures it here"
# The note of a brought model whose classes are not the Challenge's: scored by AUROC alone.
NOT_CHALLENGE = "challenge score n/a: not the Challenge's classes"


def not_challenge(note: object) -> bool:
    """The row's score is n/a (a brought model's own classes), not merely unmeasured."""
    return note == NOT_CHALLENGE


def other_cpu_note(cpu: str) -> str:
    """The row's accuracy note for a score measured on ``cpu`` (not the machine that timed it)."""
    return f"{_PREFIX}{cpu}"


def score_cpu(note: object) -> str | None:
    """The CPU a row's score was measured on, when that is not the machine that timed the row."""
    if isinstance(note, str) and note.startswith(_PREFIX):
        return note[len(_PREFIX) :].strip() or None
    return None


def marked(score_text: str, note: object) -> str:
    """The score cell: ``0.512‡`` when measured on another CPU."""
    return score_text + (MARK if score_cpu(note) else "")


def footnote(notes: Iterable[object]) -> str | None:
    """``‡ score measured on another CPU: …`` naming each CPU once; None when no row is marked."""
    cpus = sorted({c for c in map(score_cpu, notes) if c})
    if not cpus:
        return None
    return f"{MARK} score measured on another CPU: {'; '.join(cpus)} ({FIX})"
