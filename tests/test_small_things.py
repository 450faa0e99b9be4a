"""The small things a user sees: a portable training command, progress lines when piped, the
gate's note when nothing changed, the suite's pointer to the docs, the fingerprint's errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ecgbench.host import portable_command
from ecgbench.progress import LineProgress

ROOT = Path(__file__).resolve().parents[1]


def test_a_recorded_command_names_the_program_not_the_venv() -> None:
    argv = ["/work/venv/bin/ecgbench", "train", "--data", "my data", "--epochs", "2"]
    assert portable_command(argv) == "ecgbench train --data 'my data' --epochs 2"
    manifest = (ROOT / "models" / "zoo.toml").read_text()
    commands = re.findall(r'^train_command = "(.*)"$', manifest, flags=re.M)
    assert commands and all(c.startswith("ecgbench ") for c in commands), commands


def test_piped_progress_is_a_line_per_tenth() -> None:
    lines: list[str] = []
    p = LineProgress(every_s=0.0, write=lines.append)
    t = p.add_task("timing (interleaved)", total=40)
    for _ in range(40):
        p.advance(t)
    assert [ln.split(":")[1].split()[0] for ln in lines] == [f"{10 * i}%" for i in range(1, 11)]
    quiet: list[str] = []
    p = LineProgress(every_s=3600.0, write=quiet.append)  # at most one line per hour: 10%, 100%
    t = p.add_task("timing", total=10)
    for _ in range(10):
        p.advance(t)
    assert [ln.split()[1] for ln in quiet] == ["10%", "100%"]


def test_the_gate_with_nothing_changed_says_so(tmp_path: Path) -> None:
    from ecgbench.gate.same_job import same_job_gate

    for side in ("base", "head"):
        (tmp_path / side / "ecgbench").mkdir(parents=True)
        (tmp_path / side / "ecgbench" / "x.py").write_text("x = 1\n")
    r = same_job_gate(str(tmp_path / "base"), str(tmp_path / "head"), repo=tmp_path, log=str)
    assert (
        r.mode == "none" and r.note == "nothing that runs differs (no file differs): nothing timed"
    )
    for side, lint in (("base", 100), ("head", 99)):  # lint settings only: nothing that runs
        (tmp_path / side / "pyproject.toml").write_text(
            f'[project]\ndependencies = ["numpy"]\n[tool.ruff]\nline-length = {lint}\n'
        )
    r = same_job_gate(str(tmp_path / "base"), str(tmp_path / "head"), repo=tmp_path, log=str)
    assert r.note == "nothing that runs differs (only pyproject.toml): nothing timed"


def test_the_ci_suite_points_at_a_section_that_exists() -> None:
    text = (ROOT / "runners" / "ci.toml").read_text()
    (where,) = re.findall(r'docs/gate\.md "([^"]+)"', text)
    assert re.search(rf"^## {re.escape(where)}", (ROOT / "docs" / "gate.md").read_text(), re.M)


def test_a_broken_openvino_is_an_error_not_another_fingerprint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ecgbench.bench.results import fingerprint
    from ecgbench.errors import EcgbenchError

    def broken():
        raise RuntimeError("plugin failed to load")

    monkeypatch.setattr(fingerprint, "openvino_devices", broken)
    with pytest.raises(EcgbenchError, match="plugin failed to load"):
        fingerprint.collect_fingerprint(1)
