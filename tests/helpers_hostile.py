"""Shared material for the hostile-input tests (issue 27): one-line errors, trees that must not
change outside the folder a command owns, and CLI calls by typer's runner or a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from ecgbench.cli import app


def cli(*args: object, env: dict[str, str] | None = None):
    """``ecgbench ARGS`` in-process; the result (exit code, stdout, stderr)."""
    return CliRunner().invoke(app, [str(a) for a in args], env=env)


def one_error(res, code: int = 2, says: str = "") -> str:
    """The run failed with ``code`` and said so in exactly one ``error:`` line, no traceback."""
    text = res.output + (res.stderr if hasattr(res, "stderr") else "")
    assert res.exit_code == code, text
    assert "Traceback" not in text, text
    errors = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(errors) == 1 and errors[0].startswith("error:"), res.stderr
    line = " ".join(errors[0].split())
    assert says in line, line
    return line


def ecgbench_process(*args: object, env: dict[str, str] | None = None) -> subprocess.Popen:
    """A real ``ecgbench`` process (``python -m ecgbench.cli``), started, not waited for."""
    return subprocess.Popen(
        [sys.executable, "-m", "ecgbench.cli", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "ECGBENCH_QUIET": "1", "COLUMNS": "200", **(env or {})},
    )


def tree(root: Path) -> dict[str, int]:
    """Every file under ``root`` with its size: what must not change outside a command's folder."""
    return {str(p.relative_to(root)): p.stat().st_size for p in root.rglob("*") if p.is_file()}
