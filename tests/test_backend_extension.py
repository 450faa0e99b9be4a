"""A new backend is one file: its class is found in ``BACKENDS``, it runs through the same runner,
precision rules and table as the shipped ones, and no module outside ``ecgbench/backends``
compares a backend's name."""

from __future__ import annotations

import ast
from dataclasses import replace
from pathlib import Path
from typing import ClassVar

import pytest
from helpers_export import TinySession

import ecgbench
from ecgbench import backends
from ecgbench.backends import plan_execution
from ecgbench.backends.onnxruntime_backend import ONNXRuntimeBackend
from ecgbench.bench.runner import RunOptions, run_plan
from ecgbench.bench.suite import Suite
from ecgbench.errors import BadInputError
from ecgbench.host import device_arithmetic
from ecgbench.zoo import Zoo


class SecondOnnxBackend(ONNXRuntimeBackend):
    """What a user's file would hold: ONNX Runtime under another name, FP32 only."""

    NAME: ClassVar[str] = "ort-fp32-only"
    PRECISIONS: ClassVar[tuple[str, ...]] = ("fp32",)

    @classmethod
    def plan(cls, precision, arith, int8_rest="f32"):
        if precision != "fp32":
            raise BadInputError(f"{cls.NAME} runs fp32 only, not {precision}")
        return super().plan(precision, arith, int8_rest)


def _short_run(tiny: TinySession, tmp_path: Path, names: tuple[str, ...]):
    """The real runner on the tiny model, FP32, a fraction of a second per variant."""
    plan = Suite(
        models=(str(tiny.ckpt),),
        backends=names,
        precisions=("fp32",),
        threads=1,
        duration=0.1,
        min_iters=3,
        warmup=0.02,
        round_s=0.05,
    )
    opts = RunOptions(export=tiny.opts(), use_store=False, show_progress=False)
    return run_plan(plan, opts, zoo=Zoo(tmp_path / "no_zoo"), log=lambda m: None)


def test_the_registry_is_every_backend_file_of_the_package_in_its_listed_order() -> None:
    assert list(backends.BACKENDS) == ["openvino", "onnxruntime", "torch"]
    files = sorted(p.stem for p in Path(backends.__file__).parent.glob("*_backend.py"))
    assert sorted(c.__module__.rsplit(".", 1)[1] for c in backends.BACKENDS.values()) == files


def test_a_backend_file_dropped_in_a_package_is_found_and_nothing_else_is_imported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pkg = tmp_path / "user_backends"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "second_onnx_backend.py").write_text(
        "from ecgbench.backends.onnxruntime_backend import ONNXRuntimeBackend\n\n\n"
        "class SecondOnnx(ONNXRuntimeBackend):\n"
        "    NAME = 'second-onnx'\n"
        "    LISTED = 5\n"
    )
    (pkg / "helpers.py").write_text("raise RuntimeError('not a *_backend module: never imported')")
    monkeypatch.syspath_prepend(str(tmp_path))
    found = backends.discover_backends([str(pkg)], "user_backends")
    # the imported ONNXRuntimeBackend is not this file's class: only SecondOnnx is found
    assert list(found) == ["second-onnx"]
    assert found["second-onnx"].FORMAT == "onnx" and found["second-onnx"].LISTED == 5


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setitem(backends.BACKENDS, SecondOnnxBackend.NAME, SecondOnnxBackend)
    return SecondOnnxBackend.NAME


def test_a_registered_backend_class_runs_through_the_runner(
    registered: str, tiny: TinySession, tmp_path: Path
) -> None:
    ex = plan_execution(registered, "fp32", device_arithmetic("CPU"))
    assert (ex.backend, ex.expected, ex.hint) == (registered, "f32", None)
    with pytest.raises(BadInputError, match="fp32 only"):
        plan_execution(registered, "int8", device_arithmetic("CPU"))
    doc = _short_run(tiny, tmp_path, (registered, "onnxruntime"))
    by = {r.backend: r for r in doc.rows}
    assert set(by) == {registered, "onnxruntime"}
    assert by[registered].executed == "f32" and by[registered].latency.median_ms > 0
    assert by[registered].artifact == by["onnxruntime"].artifact  # the same ONNX export
    assert by[registered].execution.note is None  # read from ONNX Runtime's optimized graph


class EchoingBackend(ONNXRuntimeBackend):
    """A backend that cannot say what ran: it reports the arithmetic it was asked for."""

    NAME: ClassVar[str] = "ort-echoing"

    def load(self, spec):
        return replace(super().load(spec), read_from=None)


def test_a_row_whose_backend_echoes_the_request_says_not_verified(
    monkeypatch: pytest.MonkeyPatch, tiny: TinySession, tmp_path: Path
) -> None:
    monkeypatch.setitem(backends.BACKENDS, EchoingBackend.NAME, EchoingBackend)
    (row,) = _short_run(tiny, tmp_path, (EchoingBackend.NAME,)).rows
    assert row.executed == "f32" and row.execution.note == "asked, not verified"


def test_an_unknown_backend_is_one_clear_error() -> None:
    with pytest.raises(BadInputError, match="unknown backend 'nosuch'; choose one of"):
        plan_execution("nosuch", "fp32", device_arithmetic("CPU"))


def _name_comparisons(tree: ast.AST, names: set[str]) -> list[int]:
    """Lines comparing something other than an export format or file kind to a backend name."""
    hits = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        sides = [node.left, *node.comparators]
        literals = set()
        for s in sides:
            if isinstance(s, ast.Constant) and isinstance(s.value, str):
                literals.add(s.value)
            if isinstance(s, ast.Tuple):
                literals |= {e.value for e in s.elts if isinstance(e, ast.Constant)}
        others = " ".join(
            ast.unparse(s) for s in sides if not isinstance(s, ast.Constant | ast.Tuple)
        )
        if literals & names and not any(w in others for w in ("fmt", "kind", "format")):
            hits.append(node.lineno)
    return hits


def test_no_backend_name_is_compared_outside_the_backends_package() -> None:
    root = Path(ecgbench.__file__).parent
    names = set(backends.BACKENDS)
    found = {}
    for p in sorted(root.rglob("*.py")):
        if p.is_relative_to(root / "backends"):
            continue
        lines = _name_comparisons(ast.parse(p.read_text()), names)
        if lines:
            found[str(p.relative_to(root))] = lines
    assert found == {}
    # the check itself finds such a comparison
    assert _name_comparisons(ast.parse('if backend == "openvino": pass'), names) == [1]
    assert _name_comparisons(ast.parse('if fmt == "openvino": pass'), names) == []
