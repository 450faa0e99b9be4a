"""This machine: CPU and ISA, library versions as each caller stores them, device names (what
exists here, what is absent: a clear error naming what exists), OpenVINO's virtual devices (AUTO,
HETERO, MULTI) really compiling, and the CLI's ``devices`` / ``run --device``."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import openvino as ov
import pytest
from helpers_export import (
    TINY_SAMPLES,
    TinySession,
    reference_logits,
    subprocess_env,
    tiny_input,
)
from typer.testing import CliRunner

from ecgbench.backends import LoadSpec, get_backend
from ecgbench.cli import app
from ecgbench.errors import BadInputError, DeviceNotFoundError
from ecgbench.host import (
    ISA_FLAGS,
    check_openvino_device,
    cpu_info,
    default_threads,
    device_kind,
    library_versions,
    onnxruntime_providers,
    openvino_devices,
    torch_devices,
)

HERE = list(ov.Core().available_devices)
CPU_ONLY = ["CPU"]


def test_cpu_is_available_here() -> None:
    assert "CPU" in HERE
    assert check_openvino_device("CPU") == "CPU"
    assert check_openvino_device(" cpu ") == "CPU"
    names = [d.name for d in openvino_devices()]
    assert names == HERE
    cpu = next(d for d in openvino_devices() if d.name == "CPU")
    assert cpu.full_name and "FP32" in cpu.capabilities
    assert "CPUExecutionProvider" in onnxruntime_providers()
    assert torch_devices()[0] == "cpu"


def test_cpu_info_and_threads() -> None:
    model, isa = cpu_info()
    assert model and set(isa) <= set(ISA_FLAGS)
    assert isa == [f for f in ISA_FLAGS if f in isa]  # in ISA_FLAGS' order
    assert 1 <= default_threads() <= (os.cpu_count() or 1)


def test_host_imports_nothing_above_it() -> None:
    code = (
        "import sys, ecgbench.host; "
        "print([m for m in sys.modules if m.split('.')[:2] in "
        "(['ecgbench', 'bench'], ['ecgbench', 'export'], ['ecgbench', 'nets'])])"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "[]"


def test_library_versions_keep_each_callers_keys_and_policy() -> None:
    v = library_versions(["python", "numpy", "not-a-package-here"])
    assert list(v) == ["python", "numpy", "not-a-package-here"]  # the caller's order
    assert v["python"] == platform.python_version() and v["numpy"] == np.__version__
    assert v["not-a-package-here"] == "absent"
    assert "not-a-package-here" not in library_versions(["not-a-package-here"], absent=None)


def test_stored_version_sets_are_unchanged() -> None:
    """These key fingerprints, checkpoints and export cache entries: a change invalidates them."""
    from ecgbench.bench.results.fingerprint import LIBRARIES
    from ecgbench.checkpoint import CHECKPOINT_LIBRARIES
    from ecgbench.export.cache import EXPORT_LIBRARIES

    assert LIBRARIES == ("ecgbench", "openvino", "nncf", "onnxruntime", "onnx", "torch", "numpy")
    assert CHECKPOINT_LIBRARIES == (
        "python",
        "ecgbench",
        "torch",
        "numpy",
        "openvino",
        "nncf",
        "onnx",
        "onnxruntime",
    )
    assert EXPORT_LIBRARIES == ("torch", "openvino", "nncf", "onnx", "onnxscript")


@pytest.mark.parametrize("device", ["GPU", "NPU", "GPU.1", "HETERO:GPU,CPU", "AUTO:NPU"])
def test_absent_device_names_what_exists(device: str) -> None:
    with pytest.raises(DeviceNotFoundError) as e:
        check_openvino_device(device, CPU_ONLY)
    msg = str(e.value)
    assert "OpenVINO sees: CPU" in msg and "\n" not in msg
    assert device.split(":")[-1].split(",")[0] in msg


def test_numbered_devices() -> None:
    assert check_openvino_device("GPU", ["CPU", "GPU.0", "GPU.1"]) == "GPU"
    assert check_openvino_device("gpu.1", ["CPU", "GPU.0", "GPU.1"]) == "GPU.1"
    with pytest.raises(DeviceNotFoundError, match=r"GPU\.0, GPU\.1"):
        check_openvino_device("GPU.2", ["CPU", "GPU.0", "GPU.1"])
    with pytest.raises(DeviceNotFoundError, match="no device"):
        check_openvino_device("CPU", [])


@pytest.mark.parametrize("device", ["TPU", "CUDA", "cpu0", "GPU.x", "AUTO:TPU", "HETERO:CPU,FPGA"])
def test_unknown_device_is_bad_input(device: str) -> None:
    with pytest.raises(BadInputError) as e:
        check_openvino_device(device, CPU_ONLY)
    assert not isinstance(e.value, DeviceNotFoundError)
    assert "AUTO" in str(e.value) and "\n" not in str(e.value)  # says what the names are


@pytest.mark.parametrize("device", ["", "  ", "HETERO", "HETERO:", "MULTI"])
def test_empty_or_listless_device_is_bad_input(device: str) -> None:
    with pytest.raises(BadInputError):
        check_openvino_device(device, CPU_ONLY)


@pytest.mark.parametrize(
    ("device", "kind"),
    [
        ("AUTO", "CPU"),
        ("AUTO:CPU", "CPU"),
        ("HETERO:CPU", "CPU"),
        ("MULTI:CPU", "CPU"),
        ("AUTO:GPU,CPU", "GPU"),
        ("BATCH:GPU", "GPU"),
        ("GPU.1", "GPU"),
        ("npu", "NPU"),
    ],
)
def test_virtual_devices_are_accepted(device: str, kind: str) -> None:
    if kind == "CPU":
        assert check_openvino_device(device, CPU_ONLY) == device.upper()
    assert device_kind(device) == kind


@pytest.mark.parametrize("device", ["AUTO", "HETERO:CPU", "AUTO:CPU", "MULTI:CPU"])
def test_virtual_device_compiles_and_infers(tiny: TinySession, device: str) -> None:
    x = tiny_input(batch=1, seed=2)
    b = get_backend("openvino")
    info = b.load(
        LoadSpec(
            artifact=tiny.artifact("openvino", "fp32"),
            device=device,
            samples=TINY_SAMPLES,
            threads=1,
            inference_precision="f32",
        )
    )
    assert info.execution_devices and all("CPU" in d for d in info.execution_devices)
    # the hint reaches the CPU behind the virtual device (its default is bf16 on some CPUs)
    assert info.inference_precision == "f32"
    np.testing.assert_allclose(b.infer(x), reference_logits(tiny.ckpt, x), atol=1e-4)
    b.close()


def test_openvino_backend_refuses_an_absent_device(tiny: TinySession) -> None:
    if "GPU" in {d.split(".")[0] for d in HERE}:
        pytest.skip("this machine has an OpenVINO GPU")
    with pytest.raises(DeviceNotFoundError, match="CPU"):
        get_backend("openvino").load(
            LoadSpec(artifact=tiny.artifact("openvino", "fp32"), device="GPU", samples=TINY_SAMPLES)
        )


# --------------------------------------------------------------------------- CLI
def test_cli_devices_names_the_cpu() -> None:
    res = CliRunner().invoke(app, ["devices"])
    assert res.exit_code == 0, res.output
    assert "Traceback" not in res.output
    assert "CPU" in res.output and "ONNX Runtime providers" in res.output
    assert "torch devices: cpu" in res.output
    absent = [d for d in ("GPU", "NPU") if d not in {h.split(".")[0] for h in HERE}]
    assert f"absent here: {', '.join(absent) or 'none'}" in res.output


def _one_error_line(stderr: str) -> str:
    lines = [ln for ln in stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), stderr
    return lines[0]


def test_cli_run_on_an_absent_gpu_is_one_line(tiny: TinySession, tmp_path: Path) -> None:
    if "GPU" in {d.split(".")[0] for d in HERE}:
        pytest.skip("this machine has an OpenVINO GPU")
    args = [
        "run",
        "--device",
        "GPU",
        "--model",
        str(tiny.ckpt),
        "--output",
        str(tmp_path / "o.json"),
        "--store",
        str(tmp_path / "store"),
    ]
    res = CliRunner().invoke(app, args, env=subprocess_env(tiny))
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    line = _one_error_line(res.stderr)
    assert "GPU" in line and "CPU" in line
    res = CliRunner().invoke(app, [*args[:2], "TPU", *args[3:]], env=subprocess_env(tiny))
    assert res.exit_code == 2 and "unknown device 'TPU'" in _one_error_line(res.stderr)

    exe = Path(sys.executable).with_name("ecgbench")
    if not exe.is_file():
        pytest.skip(f"console script not installed beside {sys.executable}")
    p = subprocess.run(
        [str(exe), *args], capture_output=True, text=True, env=subprocess_env(tiny), timeout=120
    )
    assert p.returncode == 2 and p.stdout == "", (p.stdout, p.stderr)
    assert "Traceback" not in p.stderr
    line = _one_error_line(p.stderr)
    assert line.startswith("error: device GPU is not available") and "CPU" in line
    assert not (tmp_path / "o.json").exists() and not (tmp_path / "store").exists()
