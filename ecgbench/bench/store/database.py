"""The results store: one SQL database (SQLite by default, PostgreSQL for a fleet) behind one URL.

Tables (schema version in ``meta``):

- ``machines``: ``machine_id`` (fingerprint hash), ``name`` (``--machine-name`` or derived from the
  fingerprint), ``cpu_model``, ``fingerprint`` (JSON), ``first_seen``;
- ``runs``: ``run_id``, ``machine_id``, ``suite``, ``command``, ``created``, ``complete``, and the
  whole run document as one JSON ``document`` beside the rows. The raw samples (tens of thousands
  per row) are only ever read whole, by the gate and the box plots, so they stay in the document
  rather than in a samples table of millions of tiny rows; ``store export`` writes it back exactly;
- ``rows``: one per result row, every scalar field of :class:`ResultRow` as a column (what
  ``report`` and ``recommend`` filter and join on), keyed to its run.

A run is written in one transaction (its machine, its run, its rows): concurrent writers from
many processes and machines never lose each other's rows, and a writer killed mid-write leaves
nothing. A store written by a newer ecgbench (a higher schema version) is refused in one line,
before anything in it is created or altered. Creation is one writer at a time: an exclusive lock
file beside a SQLite database, an advisory lock on PostgreSQL.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import time
from pathlib import Path
from typing import Any

from ecgbench.bench.results.document import RunDocument, default_store, read_run_dict
from ecgbench.bench.results.fingerprint import Fingerprint, machine_label
from ecgbench.bench.results.flat import (
    DERIVED_COLUMNS,
    fingerprint_columns,
    flat_columns,
    row_values,
    shown,
)
from ecgbench.bench.results.schema import ResultRow
from ecgbench.bench.store.migrate import add_missing_columns, refill_rows
from ecgbench.bench.store.tables import ROW_COLUMNS, define_tables
from ecgbench.errors import BadInputError, EcgbenchError
from ecgbench.locking import exclusive
from ecgbench.names import check_label, check_run_id

SCHEMA_VERSION = 1
SCHEMA_LOCK_KEY = 0x45434742  # 'ECGB': the advisory lock that serialises table creation
STORE_FILE = "ecgbench.db"
DERIVED = {n for n, _ in DERIVED_COLUMNS}


def store_url(store: str | os.PathLike[str] | None = None) -> str:
    """A URL (``sqlite:///…``, ``postgresql://…``) as given; a folder -> its ``ecgbench.db``."""
    s = str(store) if store is not None else str(default_store())
    if "\0" in s or "%00" in s:
        raise BadInputError(f"store {s!r}: a NUL byte is not part of any database URL or path")
    if "://" in s:
        return s
    p = Path(s)
    if p.suffix not in (".db", ".sqlite", ".sqlite3"):
        p = p / STORE_FILE
    return f"sqlite:///{p}"


class ResultsStore:
    """One store URL; every method opens short transactions, so many processes can share it."""

    def __init__(self, url: str | os.PathLike[str] | None = None, create: bool = True) -> None:
        import sqlalchemy as sa

        self.url = store_url(url)
        try:
            u = sa.engine.make_url(self.url)
        except Exception:  # sqlalchemy.exc.ArgumentError and friends
            raise BadInputError(f"not a database URL or folder: {url}") from None
        kw: dict[str, Any] = {"future": True}
        if u.get_backend_name() == "postgresql" and u.get_driver_name() in ("", "psycopg"):
            u = u.set(drivername="postgresql+" + _pg_driver())
        if u.get_backend_name() == "sqlite":
            if u.database and u.database != ":memory:":
                if not create and not Path(u.database).is_file():
                    raise BadInputError(f"no results store at {self.url}")
                Path(u.database).parent.mkdir(parents=True, exist_ok=True)
            # writers wait for each other instead of failing with "database is locked"
            kw["connect_args"] = {"timeout": 120}
        try:
            self.engine = sa.create_engine(u, **kw)
        except Exception as e:  # a missing driver, a bad dialect
            raise BadInputError(f"cannot use store {self._shown()}: {_first_line(e)}") from None
        if u.get_backend_name() == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        self._tables()
        self._open(create)

    def _shown(self) -> str:
        import sqlalchemy as sa

        return sa.engine.make_url(self.url).render_as_string(hide_password=True)

    def _tables(self) -> None:
        t = define_tables()
        self._md, self.meta, self.machines, self.runs, self.rows = (
            t.metadata,
            t.meta,
            t.machines,
            t.runs,
            t.rows,
        )

    def _open(self, create: bool, attempt: int = 0) -> None:
        """Check the schema version first, then create what is missing: one creator at a time."""
        import sqlalchemy as sa

        db = self.engine.url.database if self.engine.dialect.name == "sqlite" else None
        serial = exclusive(db) if create and db and db != ":memory:" else contextlib.nullcontext()
        try:
            with serial, self.engine.begin() as c:
                if create and c.dialect.name == "postgresql":
                    # concurrent CREATE TABLEs race on PostgreSQL's catalog ("relation already
                    # exists"): the first writer creates, the others wait for its commit
                    c.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": SCHEMA_LOCK_KEY})
                has_meta = sa.inspect(c).has_table("meta")
                if not create and not has_meta:
                    raise BadInputError(f"no results store at {self._shown()}")
                v = self._version(c) if has_meta else None
                if v is not None and v > SCHEMA_VERSION:  # before touching anything
                    raise BadInputError(
                        f"store {self._shown()} has schema {v}, newer than this ecgbench's "
                        f"{SCHEMA_VERSION}: upgrade ecgbench"
                    )
                if create:
                    self._md.create_all(c, checkfirst=True)
                added = add_missing_columns(c, self.rows)  # a store written by an older ecgbench
                if set(added) & DERIVED:  # derivable from the stored documents: derived
                    refill_rows(c, self.runs, self.rows, _row_record)
                if v is None and create:
                    c.execute(
                        self.meta.insert().values(key="schema_version", value=str(SCHEMA_VERSION))
                    )
                    v = SCHEMA_VERSION
        except (sa.exc.IntegrityError, sa.exc.ProgrammingError) as e:
            # another process initialised it at the same moment (a server without the lock)
            if attempt >= 5:
                raise EcgbenchError(
                    f"cannot open store {self._shown()}: {_first_line(e)}"
                ) from None
            return self._open(create, attempt + 1)
        except sa.exc.DatabaseError as e:  # locked, read-only, corrupt, not a database
            raise EcgbenchError(f"cannot open store {self._shown()}: {_first_line(e)}") from None
        self.schema_version = int(v if v is not None else SCHEMA_VERSION)

    def _version(self, c) -> int | None:  # sqlalchemy Connection
        import sqlalchemy as sa

        v = c.execute(
            sa.select(self.meta.c.value).where(self.meta.c.key == "schema_version")
        ).scalar()
        try:
            return None if v is None else int(v)
        except ValueError:
            raise BadInputError(
                f"store {self._shown()}: schema_version {v!r} is not a number"
            ) from None

    # ------------------------------------------------------------------ writing
    def add_run(
        self, doc: RunDocument, machine_name: str | None = None, replace: bool = True
    ) -> bool:
        """The run, its machine and its rows in one transaction; False if it was there already.

        ``replace``: a run of the same id is replaced (``run`` rewrites its own run as it goes);
        without it (``store import``) another document under a stored run's id is refused.
        """
        import sqlalchemy as sa

        check_run_id(doc.run_id)  # it becomes <run_id>.json on export
        fp = doc.fingerprint
        mid = Fingerprint.from_dict(fp).machine_id
        if machine_name is not None:
            check_label(machine_name)
        name = machine_name or fp.get("machine_name") or machine_label(fp)
        rows = [_row_record(doc.run_id, r) for r in doc.rows]
        text = json.dumps(doc.to_dict(), default=str)
        for attempt in range(8):
            try:
                with self.engine.begin() as c:
                    if not replace and self._same_or_refused(c, doc.run_id, text):
                        return False
                    have = c.execute(
                        sa.select(self.machines.c.name).where(self.machines.c.machine_id == mid)
                    ).scalar()
                    if have is None:
                        c.execute(
                            self.machines.insert().values(
                                machine_id=mid,
                                name=name,
                                cpu_model=fp.get("cpu_model", ""),
                                fingerprint=json.dumps(fp, default=str),
                                first_seen=doc.created,
                            )
                        )
                    elif machine_name and have != machine_name:
                        c.execute(
                            self.machines.update()
                            .where(self.machines.c.machine_id == mid)
                            .values(name=machine_name)
                        )
                    c.execute(self.rows.delete().where(self.rows.c.run_id == doc.run_id))
                    c.execute(self.runs.delete().where(self.runs.c.run_id == doc.run_id))
                    c.execute(
                        self.runs.insert().values(
                            run_id=doc.run_id,
                            machine_id=mid,
                            suite=doc.suite,
                            command=doc.command,
                            created=doc.created,
                            complete=doc.complete,
                            document=text,
                        )
                    )
                    if rows:
                        c.execute(self.rows.insert(), rows)
                return True
            except sa.exc.IntegrityError:
                # two writers created the same machine at once: the loser retries and finds it
                time.sleep(0.05 * (attempt + 1))
            except sa.exc.OperationalError as e:
                raise EcgbenchError(f"store {self._shown()}: {_first_line(e)}") from None
        raise EcgbenchError(f"store {self._shown()}: could not write run {doc.run_id}")

    def _same_or_refused(self, c, run_id: str, text: str) -> bool:  # sqlalchemy Connection
        """True if this very document is stored under ``run_id``; refuses another one."""
        import sqlalchemy as sa

        q = sa.select(self.runs.c.machine_id, self.runs.c.document)
        have = c.execute(q.where(self.runs.c.run_id == run_id)).first()
        if have is None:
            return False
        if have.document == text:
            return True
        raise BadInputError(
            f"store {self._shown()} already holds another run {run_id!r} (machine "
            f"{have.machine_id}); give --replace to overwrite it"
        )

    # ------------------------------------------------------------------ reading
    def frame(self, **filters: Any):  # -> pd.DataFrame
        """Every row (no raw samples) with its run and machine columns, filtered: the flat rows
        of bench/results/flat.py, the columns ``tidy_rows`` gives a document's rows."""
        import pandas as pd
        import sqlalchemy as sa

        r, ru, m = self.rows, self.runs, self.machines
        q = (
            sa.select(
                r,
                ru.c.created,
                ru.c.suite,
                ru.c.complete.label("run_complete"),
                ru.c.machine_id,
                m.c.name.label("machine_name"),
                m.c.fingerprint,
            )
            .join(ru, r.c.run_id == ru.c.run_id)
            .join(m, ru.c.machine_id == m.c.machine_id)
        )
        q = self._where(q, **filters)
        with self.engine.connect() as c:
            df = pd.read_sql(q, c)
        for n, k in ROW_COLUMNS:
            if k == "json" and n in df:
                df[n] = df[n].map(
                    lambda v, n=n: shown(n, json.loads(v) if isinstance(v, str) else v)
                )
        fps = df.pop("fingerprint").map(lambda v: json.loads(v) if v else {})
        for n in fingerprint_columns({}):  # cpu_model, hostname, int8_isa, gemm_gflops
            df[n] = fps.map(lambda f, n=n: fingerprint_columns(f)[n])
        return df[flat_columns()]

    def documents(self, limit: int | None = None, **filters: Any) -> list[RunDocument]:
        """The run documents (raw samples included), newest first."""
        import sqlalchemy as sa

        ru, m = self.runs, self.machines
        q = sa.select(ru.c.document).join(m, ru.c.machine_id == m.c.machine_id)
        q = self._where(q, rows=False, **filters).order_by(ru.c.created.desc(), ru.c.run_id)
        if limit:
            q = q.limit(limit)
        with self.engine.connect() as c:
            texts = list(c.execute(q).scalars())
        return [read_run_dict(json.loads(t), "store") for t in texts]

    def machine_names(self) -> dict[str, str]:
        import sqlalchemy as sa

        with self.engine.connect() as c:
            q = sa.select(self.machines.c.machine_id, self.machines.c.name)
            return {mid: name for mid, name in c.execute(q)}

    def count(self) -> tuple[int, int]:
        """(runs, rows)."""
        import sqlalchemy as sa

        with self.engine.connect() as c:
            runs = c.execute(sa.select(sa.func.count()).select_from(self.runs)).scalar()
            rows = c.execute(sa.select(sa.func.count()).select_from(self.rows)).scalar()
        return int(runs or 0), int(rows or 0)

    def _where(
        self,
        q,
        rows: bool = True,
        machine: str | None = None,
        suite: str | None = None,
        since: str | None = None,
        model: str | None = None,
        precision: str | None = None,
        complete_only: bool = False,
    ):
        ru, m = self.runs, self.machines
        if machine:
            q = q.where((m.c.name == machine) | (m.c.machine_id == machine))
        if suite:
            q = q.where(ru.c.suite == suite)
        if since:
            q = q.where(ru.c.created >= since)
        if complete_only:
            q = q.where(ru.c.complete.is_(True))
        if rows and model:
            q = q.where(self.rows.c.model == model)
        if rows and precision:
            q = q.where(self.rows.c.precision == precision)
        return q

    def close(self) -> None:
        self.engine.dispose()


def _pg_driver() -> str:
    """psycopg (3) where installed, else psycopg2 (the ``postgres`` extra installs psycopg2)."""
    import importlib.util

    return "psycopg" if importlib.util.find_spec("psycopg") else "psycopg2"


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    import sqlite3

    cur = dbapi_conn.cursor()
    with contextlib.suppress(sqlite3.OperationalError):  # a read-only store can still be read
        cur.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _row_record(run_id: str, r: ResultRow) -> dict[str, Any]:
    """A row's record: its columns of the flat row, lists as JSON text."""
    out: dict[str, Any] = {"run_id": run_id}
    flat = row_values(r)
    for n, k in ROW_COLUMNS:
        v = flat[n]
        out[n] = json.dumps(v) if k == "json" else v
    return out


def _first_line(e: Exception) -> str:
    text = str(getattr(e, "orig", None) or e).strip()
    return (text.splitlines() or [type(e).__name__])[0][:300]


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def append_to_store(
    doc: RunDocument, store: str | os.PathLike[str] | None = None, machine_name: str | None = None
) -> str:
    """Add a run to the results store (one transaction; replaces an earlier version of the run)."""
    st = ResultsStore(store)
    try:
        st.add_run(doc, machine_name)
    finally:
        st.close()
    return st.url


def load_store(store: str | os.PathLike[str] | None = None, **filters: Any):  # -> pd.DataFrame
    """Every stored row (without raw samples) with run and machine columns; see ResultsStore."""
    st = ResultsStore(store, create=False)
    try:
        df = st.frame(**filters)
    finally:
        st.close()
    if df.empty:
        raise BadInputError(f"no results in the store {st.url} (run `ecgbench run` first)")
    return df
