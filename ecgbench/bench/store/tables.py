"""The store's tables: ``meta``, ``machines``, ``runs``, and ``rows`` with one column per flat field."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ecgbench.bench.results.flat import DERIVED_COLUMNS
from ecgbench.bench.results.schema import RAW_FIELDS, flat_types


def _row_columns() -> list[tuple[str, str]]:
    """(name, kind) of every row column of the flat row (bench/results/flat.py): each scalar
    ResultRow field, then the derived ones; lists are stored as JSON text."""
    out = []
    for name, hint in flat_types().items():
        if name in RAW_FIELDS:  # kept in the run document
            continue
        t = str(hint)
        kind = (
            "json"
            if "list" in t or "dict" in t
            else "bool"
            if "bool" in t
            else "float"
            if "float" in t
            else "int"
            if "int" in t
            else "str"
        )
        out.append((name, kind))
    return out + list(DERIVED_COLUMNS)


ROW_COLUMNS = _row_columns()


@dataclass(frozen=True)
class StoreTables:
    metadata: Any  # sqlalchemy MetaData
    meta: Any  # sqlalchemy Table, as the rest
    machines: Any
    runs: Any
    rows: Any


def define_tables() -> StoreTables:
    """The four tables on one MetaData (sqlalchemy imported here, not at ecgbench's import)."""
    import sqlalchemy as sa

    md = sa.MetaData()
    types = {
        "str": sa.Text,
        "int": sa.BigInteger,
        "float": sa.Float,
        "bool": sa.Boolean,
        "json": sa.Text,
    }
    meta = sa.Table(
        "meta",
        md,
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text),
    )
    machines = sa.Table(
        "machines",
        md,
        sa.Column("machine_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("cpu_model", sa.Text),
        sa.Column("fingerprint", sa.Text),
        sa.Column("first_seen", sa.Text),
    )
    runs = sa.Table(
        "runs",
        md,
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("machine_id", sa.String(64), sa.ForeignKey("machines.machine_id"), index=True),
        sa.Column("suite", sa.Text),
        sa.Column("command", sa.Text),
        sa.Column("created", sa.Text, index=True),
        sa.Column("complete", sa.Boolean),
        sa.Column("document", sa.Text, nullable=False),
    )
    rows = sa.Table(
        "rows",
        md,
        sa.Column("row_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "run_id", sa.String(64), sa.ForeignKey("runs.run_id"), index=True, nullable=False
        ),
        *[sa.Column(n, types[k]) for n, k in ROW_COLUMNS],
    )
    return StoreTables(md, meta, machines, runs, rows)
