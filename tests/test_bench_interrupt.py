"""Ctrl-C and SIGTERM stop ``ecgbench run`` with its finished rows kept, and exit 130."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers_export import TINY_NAME, TinySession, subprocess_env

from ecgbench.bench.results.document import RunDocument, read_run
from ecgbench.bench.store.database import load_store


def _ecgbench() -> str:
    exe = Path(sys.executable).with_name("ecgbench")
    if not exe.is_file():
        pytest.skip(f"console script not installed beside {sys.executable}")
    return str(exe)


SIGNALS = {"SIGINT": signal.SIGINT, "SIGTERM": signal.SIGTERM}
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class _Child:
    """``ecgbench run --duration 30`` in the background, to be stopped once it is timing.

    With ``tty``, its output goes to a pseudo-terminal, so it draws its progress bar: timing has
    begun once the bar shows a whole timed second ("timing (interleaved) ... 1/60"). Without, the
    sign is its first partial run document, which the runner writes every ~5 s of timing.
    """

    def __init__(self, tiny: TinySession, d: Path, tty: bool) -> None:
        self.out, self.store, self.text = d / "out.json", d / "store", ""
        cmd = [
            _ecgbench(),
            "run",
            "--model",
            str(tiny.ckpt),
            "--backend",
            "openvino",
            "--precision",
            "fp32",
            "--duration",
            "30",
            "--warmup",
            "0.1",
            "--threads",
            "1",
            "--output",
            str(self.out),
            "--store",
            str(self.store),
        ]
        env = subprocess_env(tiny)
        self.master = None
        if tty:
            env.pop("ECGBENCH_QUIET")
            env.pop("CI", None)
            self.master, slave = pty.openpty()
            self.p = subprocess.Popen(cmd, env=env, stdout=slave, stderr=slave, close_fds=True)
            os.close(slave)
        else:
            self.p = subprocess.Popen(
                cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
        self.partial: RunDocument | None = None
        self.signalled = self.ended = 0.0

    def read_tty(self) -> None:
        while self.master is not None and select.select([self.master], [], [], 0)[0]:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # the child closed the terminal
                return
            if not chunk:
                return
            self.text += _ANSI.sub("", chunk.decode("utf-8", "replace"))

    def timing(self) -> bool:
        if self.master is not None:
            self.read_tty()
            seconds = re.findall(r"timing \(interleaved\)[^\r\n]*?(\d+)/\d+", self.text)
            return bool(seconds) and int(seconds[-1]) >= 1
        if self.out.exists():
            self.partial = read_run(self.out)
            return True
        return False

    def finish(self) -> None:
        if self.master is not None:
            self.read_tty()
            os.close(self.master)
        else:
            out, err = self.p.communicate(timeout=30)
            self.text = out + err


@pytest.fixture(scope="module")
def interrupted(tiny: TinySession, tmp_path_factory: pytest.TempPathFactory) -> dict[str, _Child]:
    """One child stopped by SIGINT (seen timing on its terminal) and one by SIGTERM (seen by its
    partial document), side by side; the FP32 IR is in the session's cache already."""
    runs = {
        "SIGINT": _Child(tiny, tmp_path_factory.mktemp("sigint"), tty=True),
        "SIGTERM": _Child(tiny, tmp_path_factory.mktemp("sigterm"), tty=False),
    }
    try:
        deadline = time.monotonic() + 150
        while any(not c.ended for c in runs.values()):
            assert time.monotonic() < deadline, "no timing / no exit within 150 s"
            for name, c in runs.items():
                if not c.signalled:
                    if c.timing():
                        c.signalled = time.monotonic()
                        c.p.send_signal(SIGNALS[name])
                    else:
                        assert c.p.poll() is None, (name, c.p.returncode, c.text)
                elif not c.ended and c.p.poll() is not None:
                    c.ended = time.monotonic()
                c.read_tty()
            time.sleep(0.05)
        for c in runs.values():
            c.finish()
    finally:
        for c in runs.values():
            if c.p.poll() is None:
                c.p.kill()
                c.p.wait()
    return runs


@pytest.mark.parametrize("sig", sorted(SIGNALS))
def test_interrupted_run_keeps_its_rows_and_exits_130(interrupted, sig: str) -> None:
    c = interrupted[sig]
    assert c.p.returncode == 130, c.text
    assert "Traceback" not in c.text and "interrupted: finished rows were written" in c.text, c.text
    doc = read_run(c.out)
    assert doc.complete is False and len(doc.rows) >= 1
    row = doc.rows[0]
    assert row.complete is False and row.latency.n == len(row.latency.samples_ns) >= 1
    assert row.model == TINY_NAME and row.latency.median_ms > 0
    # stopped by the signal, not by its rule: fewer timed seconds than --duration 30 asked for
    assert sum(row.latency.samples_ns) / 1e9 < 30, sum(row.latency.samples_ns)
    assert json.loads(c.out.read_text())["complete"] is False
    assert len(load_store(c.store)) == len(doc.rows)  # the finished rows reached the store too
    if c.partial is not None:  # what a run killed hard at that moment would have left
        assert not c.partial.complete and c.partial.rows and not c.partial.rows[0].complete
        assert row.latency.n >= c.partial.rows[0].latency.n
