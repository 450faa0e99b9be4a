"""Reading TOML (stdlib) and writing the small, flat TOML documents ecgbench keeps (manifests)."""

from __future__ import annotations

import json
import math
import os
import re
import sys
from pathlib import Path
from typing import Any

from ecgbench.errors import BadInputError
from ecgbench.fileio import atomic_write_text

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def read_toml(path: str | os.PathLike[str]) -> dict[str, Any]:
    p = Path(path)
    if not p.is_file():
        raise BadInputError(f"file not found: {p}")
    try:
        return tomllib.loads(p.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise BadInputError(f"{p}: not valid TOML ({e})") from None


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _scalar(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        # JSON's escapes are a subset of TOML's; TOML also wants DEL escaped.
        return json.dumps(v, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_scalar(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def dumps_toml(doc: dict[str, Any], _prefix: str = "") -> str:
    lines: list[str] = []
    tables: list[tuple[str, dict[str, Any]]] = []
    for k, v in doc.items():
        if v is None:
            continue
        key = k if _BARE_KEY.fullmatch(k) else _scalar(k)
        if isinstance(v, dict):
            tables.append((key, v))
        else:
            lines.append(f"{key} = {_scalar(v)}")
    out = "\n".join(lines) + ("\n" if lines else "")
    for key, sub in tables:
        name = f"{_prefix}.{key}" if _prefix else key
        body = dumps_toml(sub, name)
        has_scalars = any(not isinstance(v, dict) and v is not None for v in sub.values())
        out += ("\n" if out else "") + (f"[{name}]\n" if has_scalars or not sub else "") + body
    return out


def write_toml(path: str | os.PathLike[str], doc: dict[str, Any], header: str = "") -> None:
    atomic_write_text(path, header + dumps_toml(doc))
