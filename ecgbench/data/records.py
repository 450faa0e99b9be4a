"""Reading PhysioNet/CinC Challenge records with wfdb, including the real-world quirks.

Challenge records are a WFDB header (``X.hea``) plus a MATLAB v4 signal file (``X.mat``); plain WFDB
``.dat`` records read the same way. Some 2020 Georgia headers name the record ``X.mat`` instead of
``X``, which ``wfdb.rdrecord`` rejects: :func:`read_record` repairs the header in a scratch directory
and reads them anyway. Every other problem becomes a :class:`RecordError` with the record's name and
reason, so a scan over thousands of files can report and skip it.
"""

from __future__ import annotations

import os
import re
import struct
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

STANDARD_LEADS: tuple[str, ...] = (
    "I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6",
)  # fmt: skip


class RecordError(Exception):
    """A record that cannot be used; ``str()`` is ``"<name>: <reason>"``."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name}: {reason}")
        self.name = name
        self.reason = reason


@dataclass
class Record:
    name: str
    signal: np.ndarray  # [leads, samples] float32, millivolts
    fs: float
    leads: list[str]
    dx: list[str] = field(default_factory=list)  # SNOMED-CT codes from "#Dx:"
    age: float | None = None
    sex: str | None = None
    path: Path | None = None

    @property
    def duration_s(self) -> float:
        return self.signal.shape[1] / self.fs


def record_base(path: str | os.PathLike[str]) -> Path:
    """``dir/X``, ``dir/X.hea`` or ``dir/X.mat`` -> ``dir/X``."""
    p = Path(path)
    return p.with_suffix("") if p.suffix in {".hea", ".mat", ".dat"} else p


def list_records(directory: str | os.PathLike[str], recursive: bool = True) -> list[Path]:
    """All record bases (paths without extension) under ``directory``, sorted by name."""
    d = Path(directory)
    pattern = "**/*.hea" if recursive else "*.hea"
    return sorted((record_base(h) for h in d.glob(pattern)), key=lambda p: (p.name, str(p)))


# wfdb strips the leading "#" from comments; raw header lines keep it.
_DX = re.compile(r"^#?\s*Dx\s*:\s*(.*)$", re.IGNORECASE)
_AGE = re.compile(r"^#?\s*Age\s*:\s*(.*)$", re.IGNORECASE)
_SEX = re.compile(r"^#?\s*Sex\s*:\s*(.*)$", re.IGNORECASE)


def parse_header_comments(lines: list[str]) -> tuple[list[str], float | None, str | None]:
    dx: list[str] = []
    age: float | None = None
    sex: str | None = None
    for line in lines:
        line = line.strip()
        if m := _DX.match(line):
            dx = [c.strip() for c in m.group(1).split(",") if c.strip()]
        elif m := _AGE.match(line):
            try:
                age = float(m.group(1))
            except ValueError:
                age = None
        elif m := _SEX.match(line):
            sex = m.group(1).strip() or None
    return dx, age, sex


def read_header_dx(path: str | os.PathLike[str]) -> list[str]:
    """The ``#Dx`` codes of a header, without touching the signal file."""
    base = record_base(path)
    try:
        text = base.with_suffix(".hea").read_text(errors="replace")
    except OSError as e:
        raise RecordError(base.name, f"cannot read header ({e.strerror})") from None
    return parse_header_comments(text.splitlines())[0]


def _repair_header(text: str) -> tuple[str, bool]:
    """Strip a ``.mat``/``.dat`` suffix from the record name on the first line (2020 quirk)."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.strip() and not line.lstrip().startswith("#"):
            parts = line.split()
            name = parts[0]
            for ext in (".mat", ".dat", ".hea"):
                if name.endswith(ext):
                    parts[0] = name[: -len(ext)]
                    lines[i] = " ".join(parts)
                    return "\n".join(lines) + "\n", True
            break
    return text, False


# Bytes per block and samples per block of the WFDB formats whose size follows from the header.
_FORMAT_BLOCKS: dict[str, tuple[int, int]] = {
    "8": (1, 1), "80": (1, 1), "16": (2, 1), "61": (2, 1), "160": (2, 1), "24": (3, 1),
    "32": (4, 1), "212": (3, 2), "310": (4, 3), "311": (4, 3),
}  # fmt: skip
# MATLAB v4 matrix header: type (MOPT), rows, columns, imaginary flag, name length (little-endian).
_MAT4 = struct.Struct("<5i")
_MAT4_INT16 = (30, 40)  # MOPT of a little-endian full matrix of int16 / uint16


def _check_signal_files(base: Path, hdr) -> None:
    """Compare each signal file with what the header says it holds.

    ``wfdb.rdrecord`` reads a ``.mat`` file from the header's byte offset on without looking at the
    MATLAB header, so garbage of the right size would pass as an ECG; and it reports a short file
    only as a failed reshape. ``hdr`` is the ``wfdb.Record`` from ``rdheader`` or ``rdrecord``.
    """
    name = base.name
    files = hdr.file_name or []
    if not hdr.sig_len or len(files) != hdr.n_sig:
        raise RecordError(
            name,
            f"garbage header (declares {hdr.n_sig} signals, describes {len(files)}, "
            f"length {hdr.sig_len})",
        )
    for fname in dict.fromkeys(files):
        chans = [i for i, f in enumerate(files) if f == fname]
        path = base.parent / fname
        if not path.is_file():
            raise RecordError(name, f"signal file missing ({fname})")
        size = path.stat().st_size
        fmt = str(hdr.fmt[chans[0]])
        offset = int(hdr.byte_offset[chans[0]] or 0)
        block = _FORMAT_BLOCKS.get(fmt)
        if block is not None:
            n = hdr.sig_len * sum(int(hdr.samps_per_frame[c] or 1) for c in chans)
            need = offset + -(-n * block[0] // block[1])
            if size < need:
                raise RecordError(name, f"truncated: {fname} has {size} of {need} bytes")
        if fname.lower().endswith(".mat"):
            with open(path, "rb") as f:
                head = f.read(_MAT4.size).ljust(_MAT4.size, b"\0")
            mopt, rows, cols, imag, namelen = _MAT4.unpack(head)
            if (
                mopt not in _MAT4_INT16
                or (rows, cols, imag) != (len(chans), hdr.sig_len, 0)
                or _MAT4.size + namelen != offset
            ):
                raise RecordError(
                    name,
                    f"corrupt signal file {fname} (not the MATLAB v4 {len(chans)}x{hdr.sig_len} "
                    "16-bit matrix the header describes)",
                )


def _read_checked(base: Path):  # -> wfdb.Record
    """``wfdb.rdrecord``, plus :func:`_check_signal_files`; when wfdb fails, say why if we can."""
    import wfdb

    try:
        rec = wfdb.rdrecord(str(base))
    except Exception:
        try:
            hdr = wfdb.rdheader(str(base))
        except Exception as e:  # wfdb raises many types for a malformed header
            raise RecordError(base.name, f"garbage header ({_why(e)})") from None
        _check_signal_files(base, hdr)
        raise
    _check_signal_files(base, rec)
    return rec


def _why(e: Exception) -> str:
    reason = str(e).splitlines()[0] if str(e) else ""
    return f"{type(e).__name__}: {reason[:120]}" if reason else type(e).__name__


def _rdrecord(base: Path, header_text: str):  # -> wfdb.Record
    repaired, changed = _repair_header(header_text)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if not changed:
            return _read_checked(base)
        # Read the repaired header beside links to the original signal files.
        with tempfile.TemporaryDirectory(prefix="ecgbench-rec-") as tmp:
            (Path(tmp) / f"{base.name}.hea").write_text(repaired)
            for sig in base.parent.glob(f"{base.name}.*"):
                if sig.suffix != ".hea":
                    os.symlink(sig.resolve(), Path(tmp) / sig.name)
            return _read_checked(Path(tmp) / base.name)


def read_record(
    path: str | os.PathLike[str],
    n_leads: int | None = 12,
    min_duration_s: float = 0.0,
) -> Record:
    """Read one record and check it is usable; raise :class:`RecordError` otherwise.

    ``n_leads=None`` takes any lead count: a model card picks its leads by name afterwards."""
    base = record_base(path)
    name = base.name
    hea = base.with_suffix(".hea")
    if not hea.is_file():
        raise RecordError(name, "header file missing")
    try:
        header_text = hea.read_text(errors="strict")
    except UnicodeDecodeError:
        raise RecordError(name, "header is not text (garbage header)") from None
    except OSError as e:
        raise RecordError(name, f"cannot read header ({e.strerror})") from None
    first = next((ln for ln in header_text.splitlines() if ln.strip() and ln[0] != "#"), "")
    fields = first.split()
    if len(fields) < 2 or not fields[1].isdigit():
        raise RecordError(name, "garbage header (no record line with a signal count)")
    try:
        rec = _rdrecord(base, header_text)
    except RecordError:
        raise
    except FileNotFoundError:
        raise RecordError(name, "signal file missing") from None
    except Exception as e:  # wfdb raises many types for corrupt input
        raise RecordError(name, f"unreadable ({_why(e)})") from None
    sig = rec.p_signal
    if sig is None or sig.ndim != 2:
        raise RecordError(name, "no signal data")
    if n_leads is not None and (rec.n_sig != n_leads or sig.shape[1] != n_leads):
        raise RecordError(name, f"has {rec.n_sig} leads, expected {n_leads}")
    if sig.shape[0] != rec.sig_len:
        raise RecordError(name, f"truncated: {sig.shape[0]} of {rec.sig_len} samples")
    if not np.all(np.isfinite(sig)):
        raise RecordError(name, "contains NaN or infinite samples")
    fs = float(rec.fs)
    if fs <= 0:
        raise RecordError(name, f"invalid sampling rate {fs}")
    if sig.shape[0] / fs < min_duration_s:
        raise RecordError(
            name, f"too short: {sig.shape[0] / fs:.2f} s, need at least {min_duration_s:g} s"
        )
    dx, age, sex = parse_header_comments(rec.comments or [])
    return Record(
        name=name,
        signal=np.ascontiguousarray(sig.T, dtype=np.float32),
        fs=fs,
        leads=list(rec.sig_name or []),
        dx=dx,
        age=age,
        sex=sex,
        path=base,
    )


def iter_records(
    paths: list[Path], n_leads: int | None = 12, min_duration_s: float = 0.0
) -> Iterator[Record | RecordError]:
    """Yield each readable record, or the :class:`RecordError` that says why it is skipped."""
    for p in paths:
        try:
            yield read_record(p, n_leads=n_leads, min_duration_s=min_duration_s)
        except RecordError as e:
            yield e
