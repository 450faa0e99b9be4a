"""Every command's help at 80 columns: no option name cut, no markup eaten, no raw ``…``; -h,
--version."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from ecgbench import __version__
from ecgbench.cli import app


def _commands(group, prefix: tuple[str, ...] = ()):
    for name, cmd in sorted(group.commands.items()):
        yield (*prefix, name), cmd
        if hasattr(cmd, "commands"):  # a group (typer's own click)
            yield from _commands(cmd, (*prefix, name))


COMMANDS = list(_commands(typer.main.get_command(app)))


@pytest.mark.parametrize("path,cmd", COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_help_reads_at_80_columns(path: tuple[str, ...], cmd) -> None:
    res = CliRunner().invoke(app, [*path, "-h"], env={"COLUMNS": "80"})
    assert res.exit_code == 0, res.output
    text = res.output
    assert max(map(len, text.splitlines())) <= 80, text
    assert "…" not in text.replace("[default: …]", "") or "HETERO" in text
    assert "``" not in text and "<bool>" not in text, text
    assert "\\[" not in text, text  # no markup escape shown as text (rich markup is off)
    for p in cmd.params:
        for opt in p.opts:
            if opt.startswith("-"):
                assert opt in text, (opt, text)


def test_markup_is_not_eaten_and_the_version_prints() -> None:
    r = CliRunner()
    assert "TOML with [model] and [train] tables" in r.invoke(app, ["train", "-h"]).output
    assert "bf16" in r.invoke(app, ["recommend", "-h"], env={"COLUMNS": "200"}).output
    run_help = " ".join(r.invoke(app, ["run", "-h"], env={"COLUMNS": "200"}).output.split())
    assert "--input-samples" in run_help and "--samples: the older name, still accepted" in run_help
    res = r.invoke(app, ["--version"])
    assert res.exit_code == 0 and res.output.strip() == f"ecgbench {__version__}"
