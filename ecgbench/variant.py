"""The name of one variant (model × backend × precision), the key it has wherever it is stored.

Suites (``[samples_by_variant]``) and gate summaries (``per_key``) key variants by
``model/backend/precision``; file names cannot hold ``/``, so folders use the ``slug``. Both read
back with :meth:`Variant.parse`. No heavy import here: the CLI, the gate and the runner share it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ecgbench.errors import BadInputError


@dataclass(frozen=True)
class Variant:
    model: str
    backend: str
    precision: str

    @property
    def name(self) -> str:
        """``model/backend/precision``."""
        return f"{self.model}/{self.backend}/{self.precision}"

    @property
    def slug(self) -> str:
        """``model-backend-precision``: the name as one path component."""
        return f"{self.model}-{self.backend}-{self.precision}"

    @classmethod
    def parse(cls, name: str) -> Variant:
        """A ``name`` or a ``slug`` back to its parts (a model may contain either separator)."""
        parts = name.rsplit("/", 2) if name.count("/") >= 2 else name.rsplit("-", 2)
        if len(parts) != 3 or not all(parts):
            raise BadInputError(f"{name!r} is not a variant name (model/backend/precision)")
        return cls(*parts)
