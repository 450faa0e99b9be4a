"""A record's leads, picked by the names a model takes."""

from __future__ import annotations


def lead_order(record_leads: list[str], card_leads: tuple[str, ...]) -> list[int] | str:
    """Row of each card lead in the record (names compared case-insensitively), or what lacks."""
    pos = {n.strip().lower(): i for i, n in enumerate(record_leads)}
    missing = [c for c in card_leads if c.lower() not in pos]
    if missing:
        return f"lacks lead(s) {', '.join(missing)} the model takes"
    return [pos[c.lower()] for c in card_leads]
