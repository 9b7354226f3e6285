"""The network compiled to plain numpy arrays: what the engine's hot loop reads.

Shapes use these letters: R regions, P products, K processes, S sectors, E elements,
M markets (china, ex_china), J capacity projects. Quantities are tonnes per month.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from rareflow.data.network import Network
from rareflow.data.schema import MARKETS
from rareflow.model.losses import apply_platforms, own_lines, value_added_shares

CHINA = "CHN"


def month_index(month: str | pd.Period) -> int:
    """Absolute month number (year * 12 + month - 1) of 'YYYY-MM' or a Period."""
    period = pd.Period(month, freq="M")
    return period.year * 12 + period.month - 1


def month_label(index: int) -> str:
    """Inverse of ``month_index``: 'YYYY-MM'."""
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


@dataclass(frozen=True)
class CompiledNetwork:
    """Static description of the network; never mutated by a run."""

    regions: tuple[str, ...]
    products: tuple[str, ...]
    processes: tuple[str, ...]
    sectors: tuple[str, ...]
    elements: tuple[str, ...]
    product_stage: tuple[str, ...]  # (P,) stage of each product
    base_year: int
    recipe_in: np.ndarray  # (K, P) t input per t activity
    recipe_out: np.ndarray  # (K, P) t output per t activity
    capacity: np.ndarray  # (R, K) t activity per month, installed in the base year
    activity0: np.ndarray  # (R, K) t activity per month, baseline
    trade0: np.ndarray  # (P, R, R) t per month, exporter x importer, baseline
    demand0: np.ndarray  # (R, S, P) t per month final use, baseline
    stock_change0: np.ndarray  # (R, P) t per month, baseline
    cover_months: np.ndarray  # (R, P) target stock in months of use
    transit_months: np.ndarray  # (R,) months an import spends at sea (0-1): that share of a
    # month's shipments to the region arrives the next month
    price0: np.ndarray  # (P, M) USD per kg, baseline
    content: np.ndarray  # (P, E) t element per t product
    kg_per_unit: np.ndarray  # (S, P) kg of product per unit of sector output (0: not used)
    usd_per_unit: np.ndarray  # (S, P) value (gross output) of one unit of sector output
    project_region: np.ndarray  # (J,) int region index
    project_process: np.ndarray  # (J,) int process index
    project_start: np.ndarray  # (J,) int absolute month index (see month_index)
    project_ramp_months: np.ndarray  # (J,) int
    project_tonnes_per_month: np.ndarray  # (J,) activity added at full ramp
    project_names: tuple[str, ...]
    parameters: dict[str, float]
    # (S, P) bool: the pair is its own line of output (``unit_basis`` own), not one input of
    # the sector's unit
    own_line: np.ndarray
    value_added_share: np.ndarray  # (R, S) value added / gross output

    markets: tuple[str, ...] = MARKETS

    @property
    def shape(self) -> dict[str, int]:
        return {
            "region": len(self.regions),
            "product": len(self.products),
            "process": len(self.processes),
            "sector": len(self.sectors),
            "element": len(self.elements),
        }

    def index(self, dim: str, label: str) -> int:
        labels: tuple[str, ...] = getattr(self, dim + "s" if not dim.endswith("s") else dim)
        try:
            return labels.index(label)
        except ValueError:
            raise KeyError(f"unknown {dim} {label!r}; known: {', '.join(labels)}") from None

    @property
    def china(self) -> int:
        return self.regions.index(CHINA) if CHINA in self.regions else -1


def _codes(labels: list[str], values: pd.Series) -> np.ndarray:
    """Positions of ``values`` in ``labels`` (-1 where absent; validation rules that out)."""
    return pd.Index(labels).get_indexer(pd.Index(values))


def _matrix(frame: pd.DataFrame, rows: list[str], cols: list[str], r: str, c: str, v: str):
    out = np.zeros((len(rows), len(cols)))
    if len(frame):
        ri = _codes(rows, frame[r])
        ci = _codes(cols, frame[c])
        np.add.at(out, (ri, ci), frame[v].to_numpy(float))
    return out


def _by_region(frame: pd.DataFrame | None, regions: list[str], value: str) -> np.ndarray:
    """(R,) a per-region column; 0 for a region the table (or a missing file) leaves out."""
    out = np.zeros(len(regions))
    if frame is not None and len(frame):
        at = _codes(regions, frame["region"])
        out[at[at >= 0]] = frame[value].to_numpy(float)[at >= 0]
    return out


def _year(frame: pd.DataFrame, year: int) -> pd.DataFrame:
    return frame[frame["year"] == year] if "year" in frame else frame


def compile_network(net: Network, year: int | None = None) -> CompiledNetwork:
    """Turn a validated ``Network`` into arrays for one baseline year (per month)."""
    year = year or net.base_year
    t = net.tables
    regions, products, processes = net.regions, net.products, net.processes
    sectors, elements = net.sectors, net.elements
    recipes = t["recipes"]
    per_month = 1.0 / 12.0

    trade = _year(t["trade"], year)
    trade0 = np.zeros((len(products), len(regions), len(regions)))
    if len(trade):
        idx = (
            _codes(products, trade["product"]),
            _codes(regions, trade["exporter"]),
            _codes(regions, trade["importer"]),
        )
        np.add.at(trade0, idx, trade["tonnes_per_year"].to_numpy(float) * per_month)

    demand = _year(t["demand"], year)
    demand0 = np.zeros((len(regions), len(sectors), len(products)))
    if len(demand):
        idx = (
            _codes(regions, demand["region"]),
            _codes(sectors, demand["sector"]),
            _codes(products, demand["product"]),
        )
        np.add.at(demand0, idx, demand["tonnes_per_year"].to_numpy(float) * per_month)

    prices = _year(t["prices"], year)
    if prices.empty:  # fall back to the latest year with prices
        prices = t["prices"][t["prices"]["year"] == t["prices"]["year"].max()]
    price0 = _matrix(prices, products, list(MARKETS), "product", "market", "usd_per_kg")

    projects = t["projects"]
    capacity = _matrix(
        _year(t["capacities"], year), regions, processes, "region", "process", "tonnes_per_year"
    )
    kg_per_unit, usd_per_unit = apply_platforms(
        _matrix(t["intensities"], sectors, products, "sector", "product", "kg_per_unit"),
        _matrix(t["intensities"], sectors, products, "sector", "product", "usd_per_unit"),
        sectors,
        t.get("platforms"),
    )
    return CompiledNetwork(
        regions=tuple(regions),
        products=tuple(products),
        processes=tuple(processes),
        sectors=tuple(sectors),
        elements=tuple(elements),
        product_stage=tuple(net.stage_of(p) for p in products),
        base_year=year,
        recipe_in=_matrix(
            recipes[recipes["role"] == "input"],
            processes,
            products,
            "process",
            "product",
            "tonnes_per_tonne_activity",
        ),
        recipe_out=_matrix(
            recipes[recipes["role"] == "output"],
            processes,
            products,
            "process",
            "product",
            "tonnes_per_tonne_activity",
        ),
        capacity=capacity * per_month,
        activity0=_matrix(
            _year(t["production"], year),
            regions,
            processes,
            "region",
            "process",
            "tonnes_per_year",
        )
        * per_month,
        trade0=trade0,
        demand0=demand0,
        stock_change0=_matrix(
            _year(t["stock_changes"], year),
            regions,
            products,
            "region",
            "product",
            "tonnes_per_year",
        )
        * per_month,
        cover_months=_matrix(
            t["inventories"], regions, products, "region", "product", "cover_months"
        ),
        transit_months=_by_region(t.get("transit"), regions, "transit_months"),
        price0=price0,
        content=_matrix(t["contents"], products, elements, "product", "element", "mass_fraction"),
        kg_per_unit=kg_per_unit,
        usd_per_unit=usd_per_unit,
        own_line=own_lines(t["intensities"], sectors, products),
        value_added_share=value_added_shares(t.get("value_added"), regions, sectors),
        project_region=_codes(regions, projects["region"]).astype(int),
        project_process=_codes(processes, projects["process"]).astype(int),
        project_start=np.array([month_index(m) for m in projects["start_month"]], dtype=int),
        project_ramp_months=projects["ramp_months"].to_numpy(int),
        project_tonnes_per_month=projects["tonnes_per_year"].to_numpy(float) * per_month,
        project_names=tuple(projects["project"]),
        parameters={
            str(k): float(v)
            for k, v in zip(t["parameters"]["name"], t["parameters"]["value"], strict=True)
        },
    )
