"""`ecgbench store`: import, export and list the results store."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ecgbench.cli._app import app
from ecgbench.cli._format import out

store_app = typer.Typer(help="The results store (SQLite or PostgreSQL).", no_args_is_help=True)
app.add_typer(store_app, name="store")


@store_app.command("import")
def store_import(
    sources: Annotated[list[Path], typer.Argument(help="Run JSON files or folders of them")],
    store: Annotated[str | None, typer.Option(help="Results store URL or folder")] = None,
    machine_name: Annotated[str | None, typer.Option(help="Name the machine of these runs")] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Overwrite stored runs of the same run id")
    ] = False,
) -> None:
    """Load run documents (e.g. a folder store's runs/, runners/baselines/) into the store."""
    from ecgbench.bench.store.documents import import_documents

    n, url = import_documents(sources, store, machine_name, replace=replace)
    out.print(f"imported {n} run(s) into {url}", highlight=False)


@store_app.command("export")
def store_export(
    out_dir: Annotated[Path, typer.Argument(help="Folder for one JSON document per run")],
    store: Annotated[str | None, typer.Option(help="Results store URL or folder")] = None,
) -> None:
    """Write every stored run back out as its run document (JSON)."""
    from ecgbench.bench.store.documents import export_documents

    n = export_documents(store, out_dir)
    out.print(f"wrote {n} run document(s) to {out_dir}", highlight=False)


@store_app.command("list")
def store_list(
    store: Annotated[str | None, typer.Option(help="Results store URL or folder")] = None,
) -> None:
    """Where the store is, and its machines and runs."""
    from ecgbench.bench.results.document import STORE_ENV
    from ecgbench.bench.store.database import ResultsStore, store_url

    why = "--store" if store else (f"${STORE_ENV}" if os.environ.get(STORE_ENV) else "default")
    st = ResultsStore(store, create=False)  # a missing store: one error line naming where
    out.print(f"store: {store_url(store)} ({why})", highlight=False, soft_wrap=True)
    df = st.frame()
    st.close()
    t = Table(title=f"{st.url}: schema {st.schema_version}")
    for c in ("machine", "runs", "rows", "suites", "first", "last"):
        t.add_column(c)
    for name, g in df.groupby("machine_name"):
        t.add_row(
            str(name),
            str(g["run_id"].nunique()),
            str(len(g)),
            ", ".join(sorted(map(str, g["suite"].dropna().unique()))),
            str(g["created"].min()),
            str(g["created"].max()),
        )
    out.print(t)
