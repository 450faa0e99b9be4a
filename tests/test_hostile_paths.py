"""Issue 27, cases 1-4 and 19: names that become paths, paths that leave their folder, text that
becomes markup. Each hostile input gets one ``error:`` line (exit 2) and changes nothing outside."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers_gate import result_row, run_doc
from helpers_hostile import cli, one_error, tree

from ecgbench.errors import BadInputError
from ecgbench.fileio import sha256_file
from ecgbench.tomlio import read_toml, write_toml
from ecgbench.zoo import MANIFEST, Zoo


def _zoo(tmp_path: Path, ckpt: Path) -> Path:
    root = tmp_path / "zoo"
    Zoo(root).add(ckpt, "tiny")
    return root


def _victim(tmp_path: Path) -> Path:
    victim = tmp_path / "victim" / "openvino"
    victim.mkdir(parents=True)
    (victim / "precious.txt").write_text("keep me")
    return tmp_path / "victim"


# ------------------------------------------------------------------ case 1: names in the manifest
def test_a_manifest_name_with_dotdot_is_refused_and_export_touches_nothing(
    tmp_path: Path, tiny_checkpoint: Path
) -> None:
    root = _zoo(tmp_path, tiny_checkpoint)
    victim = _victim(tmp_path)
    doc = read_toml(root / MANIFEST)
    doc["models"]["../../victim"] = doc["models"]["tiny"]
    write_toml(root / MANIFEST, doc)
    before = tree(tmp_path)
    env = {"ECGBENCH_ZOO": str(root)}
    one_error(cli("zoo", "list", "--zoo-dir", root), says="'../../victim' is not a plain name")
    res = cli(
        "export", "--model", "all", "--precision", "int8", "--format", "openvino", "--zoo", env=env
    )
    one_error(res, says="is not a plain name")
    assert (victim / "openvino" / "precious.txt").read_text() == "keep me"
    assert tree(tmp_path) == before


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("../../x", "is not a plain name"),
        ("/abs/x", "is not a plain name"),
        ("a/b", "is not a plain name"),
        ("all", "is reserved"),
        ("x,y", "is not a plain name"),
    ],
)
def test_zoo_add_refuses_names_that_are_paths_or_selectors(
    tmp_path: Path, tiny_checkpoint: Path, name: str, says: str
) -> None:
    before = tree(tmp_path)
    one_error(cli("zoo", "add", tiny_checkpoint, "--name", name, "--zoo-dir", tmp_path / "zoo"))
    assert tree(tmp_path) == before  # nothing written, inside the zoo or out


def test_inside_follows_symlinks_and_refuses_absolute_paths(tmp_path: Path) -> None:
    from ecgbench.names import inside  # (new in issue 27: imported here, so the file runs before)

    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "out").symlink_to(tmp_path)
    assert inside(tmp_path / "root", "a/b.json") == (tmp_path / "root" / "a" / "b.json").resolve()
    for bad in ("../x", "/etc/passwd", "out/x", "a/../../x"):
        with pytest.raises(BadInputError, match="leads outside"):
            inside(tmp_path / "root", bad)


# ------------------------------------------------------------------ case 4: artifact main paths
@pytest.mark.parametrize("main", ["../outside/model.xml", "int8/other/openvino/model.xml"])
def test_an_artifact_main_outside_its_hashed_folder_is_refused(
    tmp_path: Path, tiny_checkpoint: Path, main: str
) -> None:
    root = _zoo(tmp_path, tiny_checkpoint)
    mine = root / "int8" / "tiny" / "openvino" / "model.xml"
    mine.parent.mkdir(parents=True)
    mine.write_text("<net/>")
    rel = "int8/tiny/openvino/model.xml"
    doc = read_toml(root / MANIFEST)
    doc["models"]["tiny"]["artifacts"] = {
        "openvino-int8": {"main": main, "files": {rel: sha256_file(mine)}}
    }
    write_toml(root / MANIFEST, doc)
    one_error(cli("zoo", "verify", "--zoo-dir", root), says="is not among the files")
    # and a hashed file outside the model's folder is refused as well
    doc["models"]["tiny"]["artifacts"]["openvino-int8"] = {"main": main, "files": {main: "0" * 64}}
    write_toml(root / MANIFEST, doc)
    one_error(cli("zoo", "verify", "--zoo-dir", root), says="leads outside")


# ------------------------------------------------------------------ case 2: run ids
@pytest.mark.parametrize("run_id", ["../../escaped", "/tmp/ecgbench-escaped-abs", "a/b"])
def test_a_run_id_that_is_a_path_is_refused_on_import(tmp_path: Path, run_id: str) -> None:
    d = run_doc([result_row("m", 1.0, 1)]).to_dict()
    d["run_id"] = run_id
    (tmp_path / "doc.json").write_text(json.dumps(d))
    store = tmp_path / "store"
    one_error(cli("store", "import", tmp_path / "doc.json", "--store", store), says="run id")
    assert not store.exists() or not any(store.glob("*.db"))
    assert (
        not Path(f"{run_id}.json").exists() and not Path("/tmp/ecgbench-escaped-abs.json").exists()
    )


def test_store_export_writes_only_inside_its_folder(tmp_path: Path) -> None:
    store = tmp_path / "store"
    doc = run_doc([result_row("m", 1.0, 1)])
    doc.run_id = "fine-run"
    (tmp_path / "ok.json").write_text(json.dumps(doc.to_dict()))
    assert cli("store", "import", tmp_path / "ok.json", "--store", store).exit_code == 0
    # a document stored by an older ecgbench under a run id that climbs out of the export folder
    import sqlite3

    with sqlite3.connect(store / "ecgbench.db") as c:
        c.execute("PRAGMA foreign_keys=OFF")
        text = json.dumps({**doc.to_dict(), "run_id": "../../escaped"})
        c.execute("UPDATE runs SET run_id = ?, document = ?", ("../../escaped", text))
        c.execute("UPDATE rows SET run_id = ?", ("../../escaped",))
    before = tree(tmp_path)
    one_error(cli("store", "export", tmp_path / "a" / "b", "--store", store), says="run id")
    assert tree(tmp_path) == before and not (tmp_path / "escaped.json").exists()


# ------------------------------------------------------------------ case 9: an existing run id
def test_import_refuses_another_document_under_a_stored_run_id(tmp_path: Path) -> None:
    store = tmp_path / "store"
    a = run_doc([result_row("m", 1.0, 1)])
    a.run_id = "same-id"
    (tmp_path / "a.json").write_text(json.dumps(a.to_dict()))
    other = {**a.to_dict(), "fingerprint": {**a.fingerprint, "machine_id": "another-machine"}}
    (tmp_path / "b.json").write_text(json.dumps(other))
    assert cli("store", "import", tmp_path / "a.json", "--store", store).exit_code == 0
    assert cli("store", "import", tmp_path / "a.json", "--store", store).exit_code == 0  # same
    one_error(
        cli("store", "import", tmp_path / "b.json", "--store", store), says="already holds another"
    )
    listing = cli("store", "list", "--store", store)
    assert "another-machine" not in listing.output
    ok = cli("store", "import", tmp_path / "b.json", "--store", store, "--replace")
    assert ok.exit_code == 0, ok.output


# ------------------------------------------------------------------ case 3: Markdown injection
INJECTION = "x | unchanged | x |\n\n## ✅ latency gate: no regression\n<!--"


def test_a_model_name_cannot_forge_the_gate_summary(tmp_path: Path) -> None:
    base = run_doc([result_row(INJECTION, 1.0, 1)], seed=0)
    cur = run_doc([result_row(INJECTION, 2.0, 2)], seed=1)
    base.write(tmp_path / "base.json")
    cur.write(tmp_path / "cur.json")
    md = tmp_path / "summary.md"
    res = cli("compare", tmp_path / "base.json", tmp_path / "cur.json", "--markdown", md)
    assert res.exit_code == 1, res.output  # a real ×2 slowdown
    text = md.read_text()
    headings = [ln for ln in text.splitlines() if ln.startswith("#")]
    assert headings == ["## ecgbench latency gate: 1 regression(s)"], headings
    assert "<!--" not in text  # nothing hidden in a comment
    outside_cells = [ln for ln in text.splitlines() if not ln.startswith("|")]
    assert not any("no regression" in ln for ln in outside_cells)
    table = [ln for ln in text.splitlines() if ln.startswith("|")]
    assert len(table) == 3  # header, rule, one row: the name did not add cells or rows
    assert all(ln.count("|") - ln.count("\\|") == table[0].count("|") for ln in table)


def test_dollar_names_draw_as_text_in_the_report(tmp_path: Path) -> None:
    """``$…$`` in a model or machine name crashed matplotlib's math text, on every later report."""
    from ecgbench.bench.store.database import append_to_store

    store = tmp_path / "store"
    for i, name in enumerate(["$x^{2$", "$\\alpha$"]):
        row = result_row(name, 1.0 + i, i)
        row.footprint.flops, row.footprint.params = 10**6 * (i + 1), 10**4
        doc = run_doc([row], seed=i)
        append_to_store(doc, store, machine_name="box $\\frac{1}$")
    res = cli("report", "--store", store, "-o", tmp_path / "rep")
    assert res.exit_code == 0, res.output
    assert "Traceback" not in res.output
    assert "$\\alpha$" in (tmp_path / "rep" / "index.html").read_text()
