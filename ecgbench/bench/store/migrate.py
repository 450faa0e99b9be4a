"""Columns a newer ecgbench adds to the row table, added to a store written by an older one.

Row columns only ever grow (new optional measurements such as ``run --footprint``'s), so a store
is brought up to date by ``ALTER TABLE ... ADD COLUMN`` of the missing ones, nullable: rows of older
runs read them as NULL, and an older ecgbench ignores them.
"""

from __future__ import annotations


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
