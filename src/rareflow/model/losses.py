"""What a unit of a sector is and what losing one destroys: platform mixes, unit bases and
value-added shares, compiled from the dataset's optional tables."""

from __future__ import annotations

import numpy as np
import pandas as pd


def platform_mix(platforms: pd.DataFrame | None) -> dict[str, tuple[float, float]]:
    """sector -> (kg per mean unit, USD per mean unit) of its platform mix.

    A tonne of the sector's rare-earth products makes sum_i m_i x 1000 / kg_i platforms (m_i:
    the mass share of platform i), worth sum_i m_i x 1000 / kg_i x usd_i; the mean unit is
    the tonne's platforms counted together.
    """
    mix: dict[str, tuple[float, float]] = {}
    if platforms is None or platforms.empty:
        return mix
    for sector, rows in platforms.groupby("sector", sort=True):
        kg = rows["kg_per_unit"].to_numpy(float)
        share = rows["mass_share"].to_numpy(float)
        usd = rows["usd_per_unit"].to_numpy(float)
        units_per_kg = float(np.sum(np.divide(share, kg, out=np.zeros_like(kg), where=kg > 0)))
        if units_per_kg <= 0:
            continue
        value_per_kg = float(
            np.sum(np.divide(share * usd, kg, out=np.zeros_like(kg), where=kg > 0))
        )
        mix[str(sector)] = (1.0 / units_per_kg, value_per_kg / units_per_kg)
    return mix


def apply_platforms(
    kg_per_unit: np.ndarray,
    usd_per_unit: np.ndarray,
    sectors: list[str],
    platforms: pd.DataFrame | None,
) -> tuple[np.ndarray, np.ndarray]:
    """(S, P) intensities with each mixed sector's kg and value per unit from its platforms;
    the split of a unit's kg between products stays the intensities' own."""
    kg, usd = kg_per_unit.copy(), usd_per_unit.copy()
    for sector, (kg_unit, usd_unit) in platform_mix(platforms).items():
        if sector not in sectors:
            continue
        s = sectors.index(sector)
        total = kg[s].sum()
        if total <= 0:
            continue
        uses = kg[s] > 0
        kg[s] = np.where(uses, kg[s] / total * kg_unit, 0.0)
        usd[s] = np.where(uses, usd_unit, 0.0)
    return kg, usd


def own_lines(intensities: pd.DataFrame, sectors: list[str], products: list[str]) -> np.ndarray:
    """(S, P) bool: pairs whose every kg is its own line of output (``unit_basis`` own)."""
    out = np.zeros((len(sectors), len(products)), dtype=bool)
    if "unit_basis" not in intensities or intensities.empty:
        return out
    own = intensities[intensities["unit_basis"] == "own"]
    s = pd.Index(sectors).get_indexer(pd.Index(own["sector"]))
    p = pd.Index(products).get_indexer(pd.Index(own["product"]))
    keep = (s >= 0) & (p >= 0)
    out[s[keep], p[keep]] = True
    return out


def value_added_shares(
    value_added: pd.DataFrame | None, regions: list[str], sectors: list[str]
) -> np.ndarray:
    """(R, S) value added / gross output; cells the table leaves out count as 1 (gross)."""
    out = np.ones((len(regions), len(sectors)))
    if value_added is None or value_added.empty:
        return out
    r = pd.Index(regions).get_indexer(pd.Index(value_added["region"]))
    s = pd.Index(sectors).get_indexer(pd.Index(value_added["sector"]))
    keep = (r >= 0) & (s >= 0)
    out[r[keep], s[keep]] = value_added["value_added_share"].to_numpy(float)[keep]
    return out
