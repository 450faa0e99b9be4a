"""The backend registry: name -> class, and every backend fact other modules need, derived from it.

Each class declares its own facts (``NAME``, ``FORMAT``, ``PRECISIONS``, ``SUFFIXES``); tables
elsewhere (suites' backends, export formats, A/B artifact kinds) are read from here. The registry
is every :class:`Backend` class of a ``*_backend.py`` module of this package, so adding a backend
is one file and nothing else. The modules import their runtime lazily: finding them is cheap.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Iterable
from pathlib import Path

from ecgbench.backends.base import Backend, LoadInfo, LoadSpec
from ecgbench.errors import BadInputError
from ecgbench.precision import Arithmetic, Execution, check_request

__all__ = [
    "BACKENDS",
    "Backend",
    "LoadInfo",
    "LoadSpec",
    "backend_class",
    "backend_for_artifact",
    "backend_for_format",
    "can_profile",
    "default_float",
    "discover_backends",
    "format_of",
    "get_backend",
    "int8_rest_is_chosen",
    "plan_execution",
    "precisions_of",
    "precisions_summary",
]


def discover_backends(paths: Iterable[str], package: str) -> dict[str, type[Backend]]:
    """Every concrete :class:`Backend` class defined in a ``*_backend`` module of ``package``
    (found on ``paths``), by ``NAME``, in the order of their ``LISTED`` and then their names."""
    found: list[type[Backend]] = []
    for m in pkgutil.iter_modules(list(paths)):
        if not m.name.endswith("_backend"):
            continue
        module = importlib.import_module(f"{package}.{m.name}")
        found += [
            cls
            for _, cls in inspect.getmembers(module, inspect.isclass)
            if issubclass(cls, Backend)
            and cls.__module__ == module.__name__
            and not inspect.isabstract(cls)
            and "NAME" in vars(cls)
        ]
    return {cls.NAME: cls for cls in sorted(found, key=lambda c: (c.LISTED, c.NAME))}


BACKENDS: dict[str, type[Backend]] = discover_backends(__path__, __name__)


def backend_class(name: str) -> type[Backend]:
    if name not in BACKENDS:
        raise BadInputError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    return BACKENDS[name]


def get_backend(name: str) -> Backend:
    """A fresh, unloaded instance: each loaded variant owns its compiled model."""
    return backend_class(name)()


def plan_execution(
    backend: str, precision: str, arith: Arithmetic, int8_rest: str = "f32"
) -> Execution:
    """Resolve a request with the backend's own rules; raises
    :class:`~ecgbench.errors.PrecisionUnsupportedError` where it cannot execute."""
    check_request(precision, int8_rest)
    return backend_class(backend).plan(precision, arith, int8_rest)


def default_float(name: str) -> str | None:
    """What a stored row of this backend ran in float when the row does not say (older runs);
    None for a backend whose device decides, or a name no backend has."""
    cls = BACKENDS.get(name)
    return cls.DEFAULT_FLOAT if cls else None


def int8_rest_is_chosen(name: str) -> bool:
    """Whether INT8's float layers run at a chosen arithmetic (``--int8-rest``) on this backend;
    elsewhere they run its default float."""
    return backend_class(name).DEFAULT_FLOAT is None


def can_profile(name: str) -> bool:
    return backend_class(name).CAN_PROFILE


def precisions_of(name: str) -> tuple[str, ...]:
    return backend_class(name).PRECISIONS


def format_of(name: str) -> str:
    return backend_class(name).FORMAT


def precisions_summary() -> str:
    """``openvino: fp32, bf16, ...; onnxruntime: ...``: what each backend can be asked for."""
    return "; ".join(f"{n}: {', '.join(c.PRECISIONS)}" for n, c in BACKENDS.items())


def backend_for_format(fmt: str) -> str:
    """The backend that runs artifacts of export format ``fmt``."""
    for name, cls in BACKENDS.items():
        if fmt == cls.FORMAT:
            return name
    formats = ", ".join(c.FORMAT for c in BACKENDS.values())
    raise BadInputError(f"no backend runs {fmt!r} artifacts; formats: {formats}")


def backend_for_artifact(path: Path) -> str:
    """The backend that loads ``path``, by its suffix (an A/B run is given bare files)."""
    for name, cls in BACKENDS.items():
        if path.suffix in cls.SUFFIXES:
            return name
    kinds = [f"{s} ({n})" for n, c in BACKENDS.items() for s in c.SUFFIXES]
    raise BadInputError(
        f"{path}: no backend loads {path.suffix or 'a file without a suffix'}; expected "
        + ", ".join(kinds[:-1])
        + f" or {kinds[-1]}"
    )
