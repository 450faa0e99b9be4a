"""What differs between base and head (two revisions, or two folders), and so how to time them.

- **models** (only ``models/`` or ``runners/`` differ): one process times both zoos interleaved.
- **code** (the package differs, its libraries do not): whole runs of each checkout alternate.
- **libraries** (``.ci/constraints.txt`` or ``pyproject.toml``'s dependencies differ): as for
  code, each side in its own virtual environment.
- **none** (tests, docs): nothing that runs differs, nothing to time.
"""

from __future__ import annotations

import hashlib
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ecgbench.errors import BadInputError

MODELS, CODE, LIBRARIES, NONE = "models", "code", "libraries", "none"
LIBRARY_FILES = (".ci/constraints.txt", "pyproject.toml")
MODEL_DIRS = ("models/", "runners/")
CODE_DIRS = ("ecgbench/",)


@dataclass(frozen=True)
class Change:
    """What differs between base and head, and so how the gate times them."""

    files: tuple[str, ...]
    # pyproject.toml changed but not its runtime dependencies (lint settings, test extras)
    same_dependencies: bool = False

    @property
    def libraries(self) -> bool:
        if ".ci/constraints.txt" in self.files:
            return True
        return "pyproject.toml" in self.files and not self.same_dependencies

    @property
    def code(self) -> bool:
        return any(f.startswith(CODE_DIRS) for f in self.files)

    @property
    def models(self) -> bool:
        return any(f.startswith(MODEL_DIRS) for f in self.files)

    @property
    def mode(self) -> str:
        """The cheapest way that still times what changed (tests, docs: nothing to time)."""
        if self.libraries:
            return LIBRARIES
        if self.code:
            return CODE
        return MODELS if self.models else NONE


# --------------------------------------------------------------------------- two revisions
def _git(repo: Path, *args: str) -> str:
    try:
        r = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    except FileNotFoundError as e:
        raise BadInputError("git is not installed") from e
    if r.returncode:
        msg = (r.stderr.strip().splitlines() or ["git failed"])[-1]
        raise BadInputError(f"git {' '.join(args)}: {msg}")
    return r.stdout


def _is_git(repo: Path) -> bool:
    try:
        return _git(repo, "rev-parse", "--is-inside-work-tree").strip() == "true"
    except BadInputError:
        return False


def resolve_revision(repo: Path, rev: str) -> str:
    """The commit a revision names (one clear line for a name git does not know)."""
    if not (repo / ".git").exists() and not _is_git(repo):
        raise BadInputError(f"{repo} is not a git repository (give --repo, or two folders)")
    try:
        return _git(repo, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}").strip()
    except BadInputError:
        raise BadInputError(f"unknown revision {rev!r} in {repo}") from None


def _dependencies_of(text: str) -> list[str] | None:
    from ecgbench.tomlio import tomllib

    try:
        return sorted(tomllib.loads(text).get("project", {}).get("dependencies", []))
    except tomllib.TOMLDecodeError:
        return None


def _dependencies(repo: Path, rev: str) -> list[str] | None:
    try:
        return _dependencies_of(_git(repo, "show", f"{rev}:pyproject.toml"))
    except BadInputError:
        return None


def changed_files(repo: Path, base: str, head: str) -> Change:
    out = _git(repo, "diff", "--name-only", base, head)
    files = tuple(sorted(x for x in out.splitlines() if x))
    same = "pyproject.toml" in files and _dependencies(repo, base) == _dependencies(repo, head)
    return Change(files, same_dependencies=same)


def checkout(repo: Path, rev: str, dest: Path) -> Path:
    """The tree of ``rev`` written to ``dest`` (``git archive``: no work tree is touched)."""
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile() as tar:
        r = subprocess.run(
            ["git", "-C", str(repo), "archive", "--format=tar", rev],
            stdout=tar,
            stderr=subprocess.PIPE,
            text=False,
        )
        if r.returncode:
            raise BadInputError(f"git archive {rev}: {r.stderr.decode().strip()}")
        tar.seek(0)
        with tarfile.open(fileobj=tar) as t:
            try:
                t.extractall(dest, filter="data")
            except TypeError:  # Python without extraction filters (3.10 before 3.10.12)
                t.extractall(dest)  # our own repository's tree
            except tarfile.TarError as e:  # e.g. a symlink out of the tree: refused, one line
                raise BadInputError(
                    f"revision {rev}: its tree cannot be checked out safely ({e})"
                ) from None
    return dest


# --------------------------------------------------------------------------- two folders
def _tree_files(root: Path) -> dict[str, str]:
    """Relative path -> sha256 of what decides timing: the package, models, runners, pins."""
    out: dict[str, str] = {}
    for top in ("ecgbench", "models", "runners"):
        for p in (root / top).rglob("*"):
            if p.is_file() and "__pycache__" not in p.parts:
                out[p.relative_to(root).as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
    for f in LIBRARY_FILES:
        if (root / f).is_file():
            out[f] = hashlib.sha256((root / f).read_bytes()).hexdigest()
    return out


def folder_change(base: Path, head: Path) -> Change:
    """What differs between two checkouts (or two model folders, as ``models/``)."""
    if not (base / "ecgbench").is_dir() or not (head / "ecgbench").is_dir():
        return Change(("models/",))  # model folders: their models, timed with this package
    a, b = _tree_files(base), _tree_files(head)
    files = tuple(sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k)))
    same = "pyproject.toml" in files and _dependencies_of(
        (base / "pyproject.toml").read_text()
    ) == _dependencies_of((head / "pyproject.toml").read_text())
    return Change(files, same_dependencies=same)
