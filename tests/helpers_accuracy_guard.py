"""Zoo folders for the accuracy guard's tests: a copy of a shipped model, and the same with its
OpenVINO INT8 re-quantized on all-zero "records" (the broken calibration the guard must catch),
the manifest's hashes updated as ``export --zoo`` would, so ``zoo verify`` says ok."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import torch

from ecgbench.checkpoint import load_checkpoint
from ecgbench.fileio import sha256_file
from ecgbench.nets.families import build_model
from ecgbench.zoo import Zoo

SHIPPED = Path(__file__).resolve().parents[1] / "models"


def copy_zoo(dest: Path, *models: str) -> Path:
    """``dest/models``: the shipped zoo's manifest and files of ``models`` only."""
    z = dest / "models"
    src = Zoo(SHIPPED)
    z.mkdir(parents=True)
    shutil.copy2(SHIPPED / "zoo.toml", z / "zoo.toml")
    for model in models:
        e = src.get(model)
        shutil.copy2(e.path, z / e.file)
        for a in e.artifacts.values():
            for rel in a.get("files", {}):
                (z / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(SHIPPED / rel, z / rel)
    with Zoo(z).editing() as ed:
        for other in [n for n in ed.entries if n not in models]:
            del ed.entries[other]
    return dest


def break_int8(root: Path, model: str, calibration: np.ndarray | None = None) -> None:
    """Re-quantize ``model``'s bundled OpenVINO INT8 on ``calibration`` (default: zeros)."""
    import openvino as ov

    from ecgbench.export.quantize import QuantSettings, quantize_int8

    z = Zoo(root / "models")
    e = z.get(model)
    ckpt = load_checkpoint(e.path)
    net = build_model(ckpt.config).eval()
    net.load_state_dict(ckpt.state_dict)
    shape = tuple(e.input_shape)
    ov_model = ov.convert_model(net, example_input=torch.zeros(shape))
    ov_model.reshape([ov.Dimension(-1), *shape[1:]])
    ov_model.inputs[0].get_tensor().set_names({"ecg"})
    x = np.zeros((20, *shape[1:]), np.float32) if calibration is None else calibration
    q = quantize_int8(ov_model, x, QuantSettings(preset="performance", model_type=None))
    art = e.artifacts["openvino-int8"]
    xml = z.root / art["main"]
    ov.save_model(q.model, str(xml), compress_to_fp16=False)
    with z.editing() as ed:
        files = ed.get(model).artifacts["openvino-int8"]["files"]
        for rel in files:
            files[rel] = sha256_file(z.root / rel)


def perturb_checkpoint(root: Path, model: str, scale: float, seed: int = 0) -> None:
    """The FP32 checkpoint's floats times (1 + ``scale`` noise): new bytes, the same model."""
    z = Zoo(root / "models")
    p = z.get(model).path
    payload = torch.load(p, map_location="cpu", weights_only=True)
    g = torch.Generator().manual_seed(seed)
    for k, t in payload["state_dict"].items():
        if t.is_floating_point():
            payload["state_dict"][k] = t * (1 + scale * torch.randn(t.shape, generator=g))
    torch.save(payload, p)
    with z.editing() as ed:
        ed.get(model).sha256 = sha256_file(p)
