"""The model zoo: ``models/zoo.toml`` over committed checkpoints, verified by sha256 before use."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ecgbench.errors import BadInputError, ChecksumError
from ecgbench.fileio import atomic_path, sha256_file
from ecgbench.locking import exclusive
from ecgbench.names import check_model_name, inside
from ecgbench.tomlio import read_toml, write_toml

if TYPE_CHECKING:  # torch is imported by what loads a checkpoint, not by reading the manifest
    from ecgbench.checkpoint import Checkpoint


def load_checkpoint(path: Path) -> Checkpoint:
    from ecgbench.checkpoint import load_checkpoint as load

    return load(path)


ZOO_ENV = "ECGBENCH_ZOO"
DEFAULT_FAMILY = "convnext1d"  # a manifest entry without a family (every entry before families)
MANIFEST = "zoo.toml"
HEADER = (
    "# ecgbench model zoo. Written by `ecgbench zoo add` and `ecgbench export --zoo`; do not edit\n"
    "# by hand: every number here was produced by the command recorded beside it.\n"
    "# Trained on PTB-XL 1.0.3 (Wagner et al., Scientific Data 2020, CC BY 4.0) in Challenge format.\n"
)


def default_zoo_dir() -> Path:
    """``$ECGBENCH_ZOO``, else ``models/`` of the checkout this package lives in, else ``./models``."""
    if os.environ.get(ZOO_ENV):
        return Path(os.environ[ZOO_ENV])
    repo_models = Path(__file__).resolve().parents[1] / "models"
    if (repo_models / MANIFEST).is_file():
        return repo_models
    return Path.cwd() / "models"


@dataclass
class ZooEntry:
    name: str
    file: str
    sha256: str
    params: int
    flops: int
    input_shape: tuple[int, ...]
    train_command: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)  # {"val": {...}, "test": {...}, ...}
    artifacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    variants: dict[str, dict[str, Any]] = field(default_factory=dict)  # accuracy per variant
    zoo_dir: Path = Path(".")
    # "trained" (an ecgbench checkpoint) or "brought" (an ONNX / IR file described by its card)
    kind: str = "trained"
    card: dict[str, Any] = field(default_factory=dict)  # a brought model's card, as TOML sections
    files: dict[str, str] = field(default_factory=dict)  # a brought model's files -> sha256

    @property
    def brought(self) -> bool:
        return self.kind == "brought"

    family: str = DEFAULT_FAMILY  # a trained model's, from its checkpoint's config

    @property
    def path(self) -> Path:
        return self.zoo_dir / self.file

    def scores_for(self, backend: str, precision: str, executed: str | None) -> dict[str, Any]:
        """The accuracy of exactly what ran: a score of another arithmetic is never borrowed."""
        if executed is None:
            return {}
        return self.variants.get(variant_score_key(backend, precision, executed), {}) or {}

    def to_toml(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "file": self.file,
            "sha256": self.sha256,
            "params": self.params,
            "flops": self.flops,
            "input_shape": list(self.input_shape),
            "train_command": self.train_command,
        }
        if self.brought:
            d.update(kind=self.kind, card=self.card, files=self.files)
        if self.family != DEFAULT_FAMILY:
            d["family"] = self.family
        d.update(self.metrics)
        if self.artifacts:
            d["artifacts"] = self.artifacts
        if self.variants:
            d["variants"] = self.variants
        return d


def _portable(command: str) -> str:
    """A checkpoint's training command without the trainer's virtual-environment path."""
    import shlex

    from ecgbench.host import portable_command

    try:
        return portable_command(shlex.split(command)) if command else command
    except ValueError:  # not shell syntax: kept as recorded
        return command


def variant_score_key(backend: str, precision: str, executed: str) -> str:
    """Manifest key of a variant's accuracy: ``openvino-fp32@bf16`` = FP32 IR run in bf16."""
    return f"{backend}-{precision}@{executed}"


_RESERVED = {
    "file", "sha256", "params", "flops", "input_shape", "train_command", "kind", "card", "files",
    "family",
}  # fmt: skip


class Zoo:
    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root) if root else default_zoo_dir()
        self.entries: dict[str, ZooEntry] = {}
        self._reload()

    @property
    def manifest(self) -> Path:
        return self.root / MANIFEST

    def _reload(self) -> None:
        self.entries = {}
        if self.manifest.is_file():
            self._parse(read_toml(self.manifest))

    @contextlib.contextmanager
    def editing(self, save: bool = True) -> Iterator[Zoo]:
        """Lock the manifest, re-read it, let the block change entries, then save atomically.

        Every writer (``zoo add``, ``export --zoo``, ``evaluate --zoo``) goes through here, so
        concurrent writers see each other's entries instead of overwriting them with stale ones.
        """
        with exclusive(self.manifest):
            self._reload()
            yield self
            if save:
                self.save()

    def _parse(self, doc: dict[str, Any]) -> None:
        models = doc.get("models", {})
        if not isinstance(models, dict):
            raise BadInputError(f"{self.manifest}: [models] is not a table")
        for name, d in models.items():
            try:
                check_model_name(name)  # a name becomes int8/<name>/… and <name>.pt
                inside(self.root, d["file"], f"{name}: checkpoint file")
                _check_artifacts(self.root, name, d.get("artifacts", {}))
                self.entries[name] = ZooEntry(
                    name=name,
                    file=d["file"],
                    sha256=d["sha256"],
                    params=int(d["params"]),
                    flops=int(d["flops"]),
                    input_shape=tuple(d["input_shape"]),
                    train_command=d.get("train_command", ""),
                    metrics={
                        k: v
                        for k, v in d.items()
                        if k not in _RESERVED and k not in ("artifacts", "variants")
                    },
                    artifacts=d.get("artifacts", {}),
                    variants=d.get("variants", {}),
                    zoo_dir=self.root,
                    kind=d.get("kind", "trained"),
                    card=d.get("card", {}),
                    files=d.get("files", {}),
                    family=str(d.get("family", DEFAULT_FAMILY)),
                )
            except BadInputError as e:
                raise BadInputError(f"{self.manifest}: {e}") from None
            except (KeyError, TypeError, ValueError, AttributeError) as e:
                raise BadInputError(f"{self.manifest}: entry {name!r} is malformed ({e})") from None

    def names(self) -> list[str]:
        return sorted(self.entries, key=lambda n: self.entries[n].flops)

    def get(self, name: str) -> ZooEntry:
        if name not in self.entries:
            known = ", ".join(self.names()) or "none (the zoo is empty)"
            raise BadInputError(f"unknown model {name!r}; zoo models: {known}")
        return self.entries[name]

    def resolve(self, names: str | list[str]) -> list[ZooEntry]:
        """``"all"`` or a name (or list of names) -> entries, smallest first."""
        if isinstance(names, str):
            names = self.names() if names == "all" else [n.strip() for n in names.split(",")]
        return [self.get(n) for n in names]

    def verify(self, name: str) -> Path:
        """The checkpoint path, after checking its sha256 against the manifest."""
        e = self.get(name)
        if not e.path.is_file():
            raise BadInputError(f"checkpoint for {name} missing: {e.path}")
        actual = sha256_file(e.path)
        if actual != e.sha256:
            raise ChecksumError(
                f"{e.path}: sha256 {actual[:12]}… does not match the manifest's {e.sha256[:12]}…; "
                "refusing to load a checkpoint that changed"
            )
        if e.brought:
            verify_brought_files(e)
        return e.path

    def load(self, name: str) -> Checkpoint:
        return load_checkpoint(self.verify(name))

    def save(self) -> None:
        doc = {"schema": 1, "models": {n: self.entries[n].to_toml() for n in self.names()}}
        write_toml(self.manifest, doc, header=HEADER)

    def add(self, checkpoint: str | os.PathLike[str], name: str | None = None) -> ZooEntry:
        """Register a trained checkpoint (copied into the zoo folder if it lives elsewhere)."""
        import shutil

        src = Path(checkpoint)
        name = check_model_name(name or src.stem)
        ckpt = load_checkpoint(src)
        dest = inside(self.root, f"{name}.pt", "checkpoint")
        if src.resolve() != dest:
            with atomic_path(dest) as tmp:  # a reader never sees half a checkpoint
                shutil.copyfile(src, tmp)
        shape = (1, ckpt.config.in_channels, ckpt.preprocessing.eval_samples)
        from ecgbench.nets.families import family_of
        from ecgbench.nets.flops import measure_complexity

        cx = measure_complexity(ckpt.build_model(), shape)
        m = ckpt.metrics
        metrics: dict[str, Any] = {}
        for split in ("val", "test"):
            if split in m:
                metrics[split] = {k: v for k, v in m[split].items() if v is not None}
        metrics["training"] = {
            k: m[k]
            for k in ("train_seconds", "train_samples_per_s", "best_epoch", "epochs_run")
            if k in m
        }
        metrics["training"]["data"] = ckpt.data.get("dir", "")
        entry = ZooEntry(
            name=name,
            file=dest.name,
            sha256=sha256_file(dest),
            params=cx.params,
            flops=cx.flops,
            input_shape=shape,
            train_command=_portable(ckpt.command),
            metrics=metrics,
            zoo_dir=self.root,
            family=family_of(ckpt.config),
        )
        with self.editing():
            old = self.entries.get(name)
            if old is not None and old.sha256 == entry.sha256:
                entry.artifacts, entry.variants = old.artifacts, old.variants
            self.entries[name] = entry
        return entry


def checkpoint_from(model: str, zoo: Zoo | None = None) -> tuple[str, Checkpoint, Path]:
    """A zoo name or a checkpoint path -> (name, checkpoint, path); zoo models are sha-verified."""
    p = Path(model)
    if p.suffix == ".pt" or p.exists():
        return p.stem, load_checkpoint(p), p
    zoo = zoo or Zoo()
    path = zoo.verify(model)
    if zoo.entries[model].brought:
        raise BadInputError(f"{model} is a brought model (no checkpoint): PyTorch does not run it")
    return model, load_checkpoint(path), path


def artifact_folder(root: Path, name: str) -> Path:
    """Where a model's bundled artifacts live: every file its manifest hashes is in here."""
    return Path(root) / "int8" / name


def _check_artifacts(root: Path, name: str, artifacts: Any) -> None:
    """Each artifact's files inside ``int8/<name>/``, and its ``main`` among the hashed files."""
    if not isinstance(artifacts, dict):
        raise TypeError("artifacts is not a table")
    folder = artifact_folder(root, name)
    for key, a in artifacts.items():
        files = a.get("files", {})
        if not isinstance(files, dict) or a.get("main") not in files:
            raise BadInputError(
                f"{name}: artifact {key}: its main file {a.get('main')!r} is not among the files "
                "the manifest hashes"
            )
        for rel in files:
            inside(folder, inside(root, rel, f"{name}: artifact {key} file"), f"{name}: {key}")


def verify_artifacts(entry: ZooEntry) -> None:
    """Check the bundled artifacts (e.g. the INT8 IR) of a zoo entry against their sha256."""
    for key, a in entry.artifacts.items():
        for rel, digest in a.get("files", {}).items():
            p = entry.zoo_dir / rel
            if not p.is_file():
                raise BadInputError(f"{entry.name}: bundled {key} file missing: {p}")
            if sha256_file(p) != digest:
                raise ChecksumError(f"{entry.name}: bundled {key} file {p} fails its sha256 check")


def verify_brought_files(entry: ZooEntry) -> None:
    """Every file of a brought model against the sha256 the manifest recorded."""
    for rel, digest in entry.files.items():
        p = entry.zoo_dir / rel
        if not p.resolve().is_relative_to(entry.zoo_dir.resolve()):
            raise BadInputError(f"{entry.name}: manifest file {rel!r} points outside the zoo")
        if not p.is_file():
            raise BadInputError(f"{entry.name}: file missing: {p}")
        if sha256_file(p) != digest:
            raise ChecksumError(
                f"{p}: sha256 does not match the manifest's; refusing to run a model that changed"
            )
