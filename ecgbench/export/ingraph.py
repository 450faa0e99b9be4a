"""``export --preprocess-in-graph``: a zoo model with its preprocessing compiled into the graph.

The band-pass (as :class:`ecgbench.data.fir.TwoStageFir`) and the per-lead z-score become layers
in front of the trained network (:mod:`ecgbench.nets.ingraph`); the result is exported to ONNX and
registered as a brought model whose card takes the raw window (no preprocessing steps), so that
every command runs it like any other model: OpenVINO IR at FP32 / FP16 / INT8, ``run
--pipeline``, ``evaluate``, the gate. It is accepted only where its decisions agree with the
scipy pipeline's on real records: the check and the paired score drop are kept in its entry.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch

from ecgbench.card import checkpoint_card
from ecgbench.data.causal import pp_steps
from ecgbench.data.fir import FirError, design_two_stage, two_stage_error
from ecgbench.errors import EcgbenchError, ExitCode
from ecgbench.gate.accuracy import (
    REGRESSION,
    AccuracySettings,
    AccuracyVerdict,
    judge,
    side_outputs,
)
from ecgbench.tomlio import write_toml
from ecgbench.zoo import Zoo, ZooEntry

SUFFIX = "_ingraph"


class NotAccepted(EcgbenchError):
    """The in-graph variant's decisions do not agree with the scipy pipeline's (exit 1)."""

    exit_code = ExitCode.REGRESSION


@dataclass(frozen=True)
class InGraphResult:
    entry: ZooEntry
    source: str
    design: FirError
    check: AccuracyVerdict

    min_agreement: float = 0.99

    @property
    def accepted(self) -> bool:
        """Its decisions agree (as the gate's guard counts them) and its score did not drop
        beyond the tolerance (the paired interval wholly above it)."""
        agree = self.check.agreement is not None and self.check.agreement >= self.min_agreement
        return agree and self.check.verdict != REGRESSION


def in_graph_name(model: str) -> str:
    return f"{model}{SUFFIX}"


def build_in_graph(zoo: Zoo, model: str, dest: Path) -> tuple[Path, Path, FirError]:
    """The ONNX graph (raw window -> logits) and its card, written into ``dest``."""
    from ecgbench.export.onnx_export import export_onnx
    from ecgbench.nets.families import build_model
    from ecgbench.nets.ingraph import with_preprocessing
    from ecgbench.zoo import checkpoint_from

    name, ckpt, _ = checkpoint_from(model, zoo)
    pp = ckpt.preprocessing
    steps = pp_steps(pp)
    design = design_two_stage(steps, pp.fs)
    net = build_model(ckpt.config)
    net.load_state_dict(ckpt.state_dict)
    ch = ckpt.config.in_channels
    module = with_preprocessing(net, design, leads=ch)
    onnx = export_onnx(
        module, dest / f"{in_graph_name(name)}.onnx", torch.zeros(1, ch, pp.eval_samples)
    )
    card = replace(checkpoint_card(ckpt), steps=())  # the graph takes the raw window
    card_path = dest / "card.toml"
    write_toml(card_path, card.to_dict(), header=f"# in-graph preprocessing of {name}\n")
    return onnx, card_path, two_stage_error(design, steps)


def check_in_graph(
    zoo: Zoo, source: str, name: str, data: Path, s: AccuracySettings, backend: str, precision: str
) -> AccuracyVerdict:
    """The in-graph model against its source with the scipy pipeline, on the same records."""
    base = side_outputs(zoo, (source, backend, precision), data, s)
    head = side_outputs(zoo, (name, backend, precision), data, s)
    # the same classes: the source's metric (the Challenge score) and its paired drop
    head = replace(head, metric=base.metric, drop=base.drop)
    return judge((name, backend, precision), base, head, s)


def export_in_graph(
    zoo: Zoo,
    model: str,
    data: Path,
    s: AccuracySettings | None = None,
    name: str | None = None,
    backend: str = "openvino",
    precision: str = "fp32",
) -> InGraphResult:
    """Build, register, check; a variant whose decisions disagree is taken out again and refused."""
    from ecgbench.zoo_brought import add_brought

    s = s or AccuracySettings(records=None)
    name = name or in_graph_name(model)
    tmp = Path(tempfile.mkdtemp(prefix="ingraph-"))
    try:
        onnx, card, design = build_in_graph(zoo, model, tmp)
        entry = add_brought(zoo, onnx, card, name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    try:
        check = check_in_graph(zoo, model, name, data, s, backend, precision)
    except BaseException:
        _remove(zoo, name)
        raise
    result = InGraphResult(entry, model, design, check, s.min_agreement)
    if not result.accepted:
        _remove(zoo, name)
        raise NotAccepted(
            f"{name} not accepted: against {model} with the scipy pipeline, decisions agree on "
            f"{check.agreement:.3f} of them, paired drop {_drop_text(check)} ({check.verdict})"
        )
    with zoo.editing() as ed:
        ed.entries[name].metrics["in_graph"] = _record(result, data, s)
    return result


def _drop_text(v: AccuracyVerdict) -> str:
    if v.drop is None:
        return "not measured (no labels)"
    return f"{v.drop:+.3f} [{v.drop_lo:+.3f}, {v.drop_hi:+.3f}]"


def _record(r: InGraphResult, data: Path, s: AccuracySettings) -> dict[str, Any]:
    c = r.check
    out: dict[str, Any] = {
        "source": r.source,
        "design": {k: v for k, v in r.design.to_dict().items() if k != "passband_hz"},
        "passband_hz": list(r.design.passband_hz),
        "checked_on": data.name,
        "folds": list(s.folds),
        "records": c.n_records,
        "backend": c.backend,
        "precision": c.precision,
        "agreement": c.agreement,
        "max_abs_delta": c.max_abs_delta,
        "verdict": c.verdict,
    }
    if c.drop is not None:
        out.update(metric=c.metric, drop=c.drop, drop_ci95=[c.drop_lo, c.drop_hi])
    return out


def _remove(zoo: Zoo, name: str) -> None:
    from ecgbench.zoo_brought import BROUGHT_DIR

    with zoo.editing() as ed:
        ed.entries.pop(name, None)
    shutil.rmtree(zoo.root / BROUGHT_DIR / name, ignore_errors=True)
