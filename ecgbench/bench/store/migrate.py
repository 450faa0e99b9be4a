"""Columns a newer ecgbench adds to the row table, added to a store written by an older one.

Row columns only ever grow (new optional measurements such as ``run --footprint``'s), so a store
is brought up to date by ``ALTER TABLE ... ADD COLUMN`` of the missing ones, nullable: rows of older
runs read them as NULL (unmeasured), and an older ecgbench ignores them. Columns derived from what
every document holds (the flat row's score intervals, percentile validity) are filled in from the
stored documents instead (:func:`refill_rows`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ecgbench.bench.results.document import read_run_dict
from ecgbench.bench.results.schema import ResultRow


def add_missing_columns(conn, table) -> list[str]:  # sqlalchemy Connection, Table
    """Add ``table``'s columns the database lacks; their names (empty when none)."""
    import sqlalchemy as sa

    inspector = sa.inspect(conn)
    if not inspector.has_table(table.name):
        return []
    have = {c["name"] for c in inspector.get_columns(table.name)}
    quote = conn.dialect.identifier_preparer.quote
    added = []
    for col in table.columns:
        if col.name in have:
            continue
        kind = col.type.compile(dialect=conn.dialect)
        try:
            conn.execute(
                sa.text(f"ALTER TABLE {quote(table.name)} ADD COLUMN {quote(col.name)} {kind}")
            )
        except sa.exc.OperationalError as e:  # SQLite: another process added it meanwhile
            if "duplicate column" not in str(e):
                raise
        added.append(col.name)
    return added


def refill_rows(conn, runs, rows, records: Callable[[str, ResultRow], dict[str, Any]]) -> int:
    """Rewrite every stored run's rows from its document (sqlalchemy Connection, Tables), so that
    columns derived from the row (bench/results/flat.py) hold values for runs stored before they
    existed, not NULL; how many runs."""
    import sqlalchemy as sa

    n = 0
    for run_id, text in conn.execute(sa.select(runs.c.run_id, runs.c.document)).all():
        doc = read_run_dict(json.loads(text), f"store run {run_id}")
        conn.execute(rows.delete().where(rows.c.run_id == run_id))
        if doc.rows:
            conn.execute(rows.insert(), [records(run_id, r) for r in doc.rows])
        n += 1
    return n
