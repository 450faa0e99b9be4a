"""Which arithmetic a device executes, and what a requested precision really runs as.

A precision names what *executes*, not what a file stores: OpenVINO's CPU plugin picks its own
default inference precision (bf16 on CPUs with AVX512-BF16 or AMX), so an "fp32" IR compiled
without a hint runs in bf16 there. Every request is therefore resolved here, before anything is
compiled, into the artifact to load, the inference-precision hint to set, and the label of what
will run; the backend reports what did run, and the two are compared row by row.

Everything in this module is pure: it works on recorded property sets (OpenVINO's
``OPTIMIZATION_CAPABILITIES`` and the CPU's ISA flags), so the logic for a CPU you do not have is
testable on the one you do.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ecgbench.errors import BadInputError

# What a user asks for. bf16 runs the FP32 artifact with bf16 arithmetic.
PRECISIONS = ("fp32", "bf16", "fp16", "int8")
# The float arithmetic a device executes (OpenVINO's INFERENCE_PRECISION_HINT values).
FLOAT_TYPES = ("f32", "bf16", "f16")
# The arithmetic each requested precision names; int8 rows are "int8+<rest>".
NATURAL = {"fp32": "f32", "bf16": "bf16", "fp16": "f16"}
ARTIFACT_OF = {"fp32": "fp32", "bf16": "fp32", "fp16": "fp16", "int8": "int8"}
_CAPABILITY_OF = {"f32": "FP32", "bf16": "BF16", "f16": "FP16", "int8": "INT8"}


class PrecisionUnsupportedError(BadInputError):
    """A precision asked for by name on a device that does not execute it."""


def int8_isa(isa: list[str] | tuple[str, ...]) -> str:
    """What INT8 arithmetic the CPU has: the reason an INT8 model is or is not faster here."""
    if "amx_int8" in isa:
        return "AMX-INT8"
    if "avx512_vnni" in isa:
        return "AVX512-VNNI"
    if "avx_vnni" in isa:
        return "AVX-VNNI"
    if "avx512bw" in isa:
        return "AVX-512 (no VNNI)"
    if "avx2" in isa:
        return "AVX2 only (no VNNI): INT8 dot products take 3 instructions"
    return "none"


@dataclass(frozen=True)
class Arithmetic:
    """What one OpenVINO device executes natively.

    ``capabilities`` is the device's ``OPTIMIZATION_CAPABILITIES`` (e.g. ``BF16, FP32, INT8``);
    ``isa`` the CPU flags (only read for ``CPU``, to say *how*: AMX, AVX512-BF16, VNNI, ...).
    """

    device: str
    capabilities: frozenset[str]
    isa: tuple[str, ...] = ()

    def executes(self, arith: str) -> bool:
        """``arith`` in f32 / bf16 / f16 / int8."""
        return _CAPABILITY_OF[arith] in self.capabilities

    def float_types(self) -> list[str]:
        return [t for t in FLOAT_TYPES if self.executes(t)]

    def native(self) -> dict[str, str]:
        """Each precision the device executes natively, and with what (``{"BF16": "AMX"}``)."""
        out: dict[str, str] = {}
        cpu = self.device.split(".")[0] == "CPU"
        isa = set(self.isa)
        if self.executes("f32"):
            out["FP32"] = (
                ("AVX-512" if "avx512f" in isa else "AVX2" if "avx2" in isa else "SSE")
                if cpu
                else "native"
            )
        if self.executes("bf16"):
            out["BF16"] = (
                ("AMX" if "amx_bf16" in isa else "AVX512-BF16" if "avx512_bf16" in isa else "yes")
                if cpu
                else "native"
            )
        if self.executes("f16"):
            out["FP16"] = (
                (
                    "AMX-FP16"
                    if "amx_fp16" in isa
                    else "AVX512-FP16"
                    if "avx512_fp16" in isa
                    else "yes"
                )
                if cpu
                else "native"
            )
        if self.executes("int8"):
            out["INT8"] = int8_isa(self.isa).split(":")[0] if cpu else "native"
        return out

    def describe(self) -> str:
        """``FP32: AVX-512 · BF16: AVX512-BF16 · INT8: AVX512-VNNI`` (what the device runs natively)."""
        return " · ".join(f"{k}: {v}" for k, v in self.native().items())

    def supported_precisions(self) -> list[str]:
        """The requested precisions (fp32, bf16, ...) this device executes natively."""
        req = {"f32": "fp32", "bf16": "bf16", "f16": "fp16", "int8": "int8"}
        return [req[a] for a in ("f32", "bf16", "f16", "int8") if self.executes(a)]


def arithmetic_from_properties(
    device: str, properties: dict, isa: list[str] | tuple[str, ...] = ()
) -> Arithmetic:
    """An :class:`Arithmetic` from a recorded property set (``{"OPTIMIZATION_CAPABILITIES": [...]}``)."""
    caps = properties.get("OPTIMIZATION_CAPABILITIES", [])
    if isinstance(caps, str):
        caps = [c.strip() for c in caps.strip("[]").replace("'", "").split(",")]
    return Arithmetic(device=device, capabilities=frozenset(str(c) for c in caps), isa=tuple(isa))


@dataclass(frozen=True)
class Execution:
    """How one requested precision is run by one backend on one device."""

    backend: str
    precision: str  # requested: fp32 | bf16 | fp16 | int8
    artifact: str  # which exported artifact: fp32 | fp16 | int8
    hint: str | None  # the float arithmetic to ask for (f32 | bf16 | f16); None: backend-fixed
    expected: str  # what should execute: f32 | bf16 | f16 | int8+f32 | int8+bf16 | int8+f16
    note: str = ""  # why expected differs from the name, where it does


# A row's note where the backend echoed the arithmetic it was asked for (nothing read it back).
NOT_VERIFIED = "asked, not verified"


def executed_label(
    precision: str, inference_precision: str | None, int8_layers: int | None = None
) -> str | None:
    """What ran, as one label: the float arithmetic, prefixed by ``int8+`` for INT8 models.

    An INT8 model of which the runtime says no layer ran in int8 (``int8_layers == 0``) ran
    float: its label says so. ``None`` layers: the runtime did not say, the name is kept.
    """
    if not inference_precision:
        return None
    if precision == "int8" and int8_layers != 0:
        return f"int8+{inference_precision}"
    return inference_precision


def matches_request(precision: str, executed: str | None) -> bool:
    """Whether what ran is what the precision's name says (fp16 on f32 arithmetic is not)."""
    if executed is None:
        return False
    if precision == "int8":
        return executed.startswith("int8+")
    return executed == NATURAL.get(precision)


def ceiling_arithmetic(executed: str | None) -> str | None:
    """Which arithmetic's GEMM ceiling a row's efficiency is measured against."""
    if executed is None:
        return None
    return "int8" if executed.startswith("int8") else executed


def tolerance_key(precision: str, executed: str | None) -> str:
    """Which verification tolerance applies: follows what executed, not the name."""
    if precision == "int8":
        return "int8"
    if executed == "bf16":
        return "bf16"
    if executed == "f16" or precision == "fp16":
        return "fp16"
    return "fp32"


def unsupported(what: str, arith: Arithmetic) -> PrecisionUnsupportedError:
    return PrecisionUnsupportedError(
        f"{arith.device} does not execute {what}; it executes "
        f"{arith.describe() or 'nothing OpenVINO reports'} "
        f"(precisions here: {', '.join(arith.supported_precisions())})"
    )


def check_request(precision: str, int8_rest: str) -> None:
    """The two names any backend's plan takes, checked before the backend's own rules."""
    if precision not in PRECISIONS:
        raise BadInputError(f"unknown precision {precision!r}; use {', '.join(PRECISIONS)}")
    if int8_rest not in FLOAT_TYPES:
        raise BadInputError(f"int8_rest must be one of {', '.join(FLOAT_TYPES)}, not {int8_rest!r}")


@dataclass
class ExecutionCheck:
    """What ran against what was planned: the row's precision verdict."""

    planned: Execution
    executed: str | None
    messages: list[str] = field(default_factory=list)
    # False: the backend echoed the arithmetic it was asked for; nothing in the runtime said it
    verified: bool = True

    @property
    def as_planned(self) -> bool:
        return self.executed == self.planned.expected

    def summary(self) -> str:
        if self.executed is None:
            return "executed precision not reported"
        if not self.as_planned:
            return f"asked {self.planned.precision} ({self.planned.expected}), ran {self.executed}"
        if not self.verified:
            return "; ".join(filter(None, [NOT_VERIFIED, self.planned.note]))
        return self.planned.note
