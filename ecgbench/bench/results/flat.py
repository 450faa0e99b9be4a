"""The one flat row: a result row with its run's and machine's facts, one level, no raw samples.

``report`` flattens documents with it (``tidy_rows``) and the store writes and reads the same
columns (``ResultsStore.frame``, what ``recommend`` reads), so both see one column set, defined
here once. Columns only ever grow: a consumer never loses one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from ecgbench.bench.results.fingerprint import Fingerprint, machine_label
from ecgbench.bench.results.groups import PIPELINE_COLUMNS
from ecgbench.bench.results.schema import FLAT_FIELDS, RAW_FIELDS, ResultRow


class RunDocument(Protocol):
    """What a flat row reads of a run document (``document.RunDocument``, which imports this)."""

    run_id: str
    created: str
    suite: str
    complete: bool
    fingerprint: dict[str, Any]
    rows: list[ResultRow]


# (name, kind) of the row's columns beyond its schema-1 fields, derived from the row: the score's
# interval, its paired drop against FP32, and whether p90/p99 had enough samples to be estimates
# (statistics.py). Kinds as bench/store/tables.py stores them.
DERIVED_COLUMNS: tuple[tuple[str, str], ...] = (
    ("challenge_score_ci_low", "float"),
    ("challenge_score_ci_high", "float"),
    ("score_drop_ci_low", "float"),
    ("score_drop_ci_high", "float"),
    ("score_drop_verdict", "str"),
    ("p90_valid", "bool"),
    ("p99_valid", "bool"),
)

# List fields shown as one text cell: the store keeps them as JSON lists, the flat row joined.
SHOWN_LISTS: dict[str, Callable[[list[Any]], str]] = {
    "input_shape": lambda v: "x".join(map(str, v)),
    "execution_devices": lambda v: ",".join(map(str, v)),
}


@dataclass(frozen=True)
class RunFacts:
    """What a flat row carries of its run and machine (the same for every row of a run)."""

    run_id: str
    created: str
    suite: str
    run_complete: bool
    machine_id: str
    machine_name: str
    cpu_model: str
    hostname: str
    int8_isa: str
    gemm_gflops: float | None

    @classmethod
    def of(cls, doc: RunDocument, machine_name: str | None = None) -> RunFacts:
        """A :class:`RunDocument`'s facts; the machine named as the store would name it."""
        fp = doc.fingerprint
        return cls(
            run_id=doc.run_id,
            created=doc.created,
            suite=doc.suite,
            run_complete=doc.complete,
            machine_id=Fingerprint.from_dict(fp).machine_id,
            machine_name=machine_name or fp.get("machine_name") or machine_label(fp),
            **fingerprint_columns(fp),
        )


RUN_COLUMNS: tuple[str, ...] = tuple(RunFacts.__dataclass_fields__)


def fingerprint_columns(fp: dict[str, Any]) -> dict[str, Any]:
    """The columns read off a run's fingerprint (as its document recorded them)."""
    return {
        "cpu_model": fp.get("cpu_model", ""),
        "hostname": fp.get("hostname", ""),
        "int8_isa": fp.get("int8_isa", ""),
        "gemm_gflops": fp.get("gemm_gflops"),
    }


def row_values(row: ResultRow) -> dict[str, Any]:
    """The row's own columns, lists as lists: what the store writes (one column each)."""
    d = row.flat()
    acc = row.accuracy
    d["challenge_score_ci_low"], d["challenge_score_ci_high"] = acc.challenge_score_ci95 or (
        None,
        None,
    )
    d["score_drop_ci_low"], d["score_drop_ci_high"] = acc.drop_vs_fp32_ci95 or (None, None)
    d["score_drop_verdict"] = acc.drop_vs_fp32
    d["p90_valid"] = row.latency.valid("p90")
    d["p99_valid"] = row.latency.valid("p99")
    return d


def shown(name: str, value: Any) -> Any:
    """A list column as its one text cell; anything else as it is."""
    f = SHOWN_LISTS.get(name)
    return f(value) if f is not None and isinstance(value, list) else value


def flat_row(row: ResultRow, facts: RunFacts) -> dict[str, Any]:
    """One row of the flat table: the row's columns, then its run's."""
    return {**{k: shown(k, v) for k, v in row_values(row).items()}, **asdict(facts)}


def flat_rows(doc: RunDocument, machine_name: str | None = None) -> list[dict[str, Any]]:
    """A :class:`RunDocument`'s rows flat."""
    facts = RunFacts.of(doc, machine_name)
    return [flat_row(r, facts) for r in doc.rows]


def flat_columns() -> list[str]:
    """Every flat column in order: schema-1 fields, pipeline columns, derived ones, the run's."""
    names = [n for n, _, _ in FLAT_FIELDS if n not in RAW_FIELDS]
    return [*names, *PIPELINE_COLUMNS, *(n for n, _ in DERIVED_COLUMNS), *RUN_COLUMNS]
