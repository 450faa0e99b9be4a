"""Brought models in the zoo: ``zoo add FILE --card CARD.toml`` checks, copies and records them.

The file (and its ``.bin`` or ONNX external data) is copied to ``<zoo>/brought/<name>/``; the
manifest records each file's sha256, the card, and the graph's FLOPs and parameters at the card's
input shape. Nothing is written until every check has passed, so a refused model leaves the
manifest as it was.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from ecgbench.brought import (
    check_input,
    check_name,
    check_output,
    inspect_model,
    run_once,
)
from ecgbench.card import ModelCard, card_from_dict, read_card
from ecgbench.data.card_input import synthetic_card_input
from ecgbench.errors import BadInputError
from ecgbench.fileio import sha256_file
from ecgbench.nets.graph_flops import graph_complexity
from ecgbench.zoo import Zoo, ZooEntry

BROUGHT_DIR = "brought"


def card_of(entry: ZooEntry) -> ModelCard:
    """The card a brought entry was registered with, checked again as it is read."""
    return card_from_dict(entry.card, where=f"{entry.name}: manifest card")


def _copy_files(files: tuple[Path, ...], main: Path, dest: Path) -> dict[str, Path]:
    """Copy into ``dest`` keeping the names relative to the main file's folder."""
    out: dict[str, Path] = {}
    for f in files:
        rel = f.resolve().relative_to(main.resolve().parent)
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f, target)
        out[str(rel)] = target
    return out


def add_brought(
    zoo: Zoo, path: str | Path, card_path: str | Path, name: str | None = None
) -> ZooEntry:
    """Check ``path`` against its card and register it; bad input changes nothing on disk."""
    src = Path(path)
    card = read_card(card_path)
    name = check_name(name or src.stem)
    if name in zoo.entries and not zoo.entries[name].brought:
        raise BadInputError(f"{name} is a trained zoo model; pick another --name")
    mf = inspect_model(src)
    check_input(mf, card)
    check_output(mf, card, run_once(mf, card, synthetic_card_input(card)))
    cx = graph_complexity(mf.main, card.input_shape())
    folder = zoo.root / BROUGHT_DIR / name
    staged = _stage(mf.files, mf.main, zoo, folder)
    main_rel = f"{BROUGHT_DIR}/{name}/{mf.main.name}"
    files = {f"{BROUGHT_DIR}/{name}/{rel}": sha256_file(folder / rel) for rel in staged}
    entry = ZooEntry(
        name=name,
        file=main_rel,
        sha256=files[main_rel],
        params=cx.params,
        flops=cx.flops,
        input_shape=card.input_shape(),
        train_command=f"brought: {src.name} ({mf.kind})",
        zoo_dir=zoo.root,
        kind="brought",
        card=card.to_dict(),
        files=files,
    )
    with zoo.editing():  # under the manifest's lock, on its latest version (names.py, issue 27)
        old = zoo.entries.get(name)
        if old is not None and old.sha256 == entry.sha256 and old.card == entry.card:
            entry.artifacts, entry.variants = old.artifacts, old.variants
        zoo.entries[name] = entry
    return entry


def _stage(files: tuple[Path, ...], main: Path, zoo: Zoo, folder: Path) -> dict[str, Path]:
    """Copy beside the zoo first, then swap the folder in: a failed copy leaves the old one."""
    zoo.root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=zoo.root))
    try:
        staged = _copy_files(files, main, tmp)
        if folder.exists():
            shutil.rmtree(folder)
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp.rename(folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {rel: folder / rel for rel in staged}
