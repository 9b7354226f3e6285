"""Small helpers to build table rows with provenance columns."""

from __future__ import annotations

from rareflow.build.facts import Prov


def prov_row(values: dict[str, object], prov: Prov) -> dict[str, object]:
    """A table row: the values plus provenance, source_url and note."""
    return {**values, "provenance": prov.kind, "source_url": prov.url, "note": prov.note}
