"""Shared fixtures: a small hand-made, balanced network (3 regions, 4 stages, 2 sectors)."""

from __future__ import annotations

import pandas as pd
import pytest

from rareflow.data.network import Network
from rareflow.engine.parameters import bundled_parameters

A = "assumption"


def _frame(columns: list[str], rows: list[tuple], provenance: bool = True) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=columns)
    if provenance:
        frame["provenance"], frame["source_url"], frame["note"] = A, "", "tiny test network"
    return frame


def tiny_tables() -> dict[str, pd.DataFrame]:
    """Balanced base-year (2024) flows, t/yr.

    Mining: CHN 1000, AUS 400, USA 200 t REO; AUS ships 300 to CHN. Separation (1 t REO ->
    0.2 NdPr oxide + 0.01 Dy oxide): CHN 1300, AUS 100, USA 200; AUS ships 20 NdPr and 1 Dy
    oxide to CHN. Reduction (1.25 t oxide -> 1 t metal): CHN 224 NdPr / 11.2 Dy, USA 32 /
    1.6. Magnets (0.32 NdPr + 0.016 Dy metal -> 1 t): CHN 700, USA 100; CHN ships 150 to USA
    and 150 to AUS. Final magnet use: CHN 400, USA 250, AUS 150.
    """
    regions = ["CHN", "USA", "AUS"]
    products = [
        ("concentrate_light", "mining", "t REO"),
        ("ndpr_oxide", "separation", "t product"),
        ("dy_oxide", "separation", "t product"),
        ("ndpr_metal", "metal", "t product"),
        ("dy_metal", "metal", "t product"),
        ("ndfeb_sintered", "magnet", "t product"),
    ]
    processes = [
        ("mine_light", "mining"),
        ("separate_light", "separation"),
        ("reduce_ndpr", "metal"),
        ("reduce_dy", "metal"),
        ("make_sintered", "magnet"),
    ]
    recipes = [
        ("mine_light", "concentrate_light", "output", 1.0),
        ("separate_light", "concentrate_light", "input", 1.0),
        ("separate_light", "ndpr_oxide", "output", 0.2),
        ("separate_light", "dy_oxide", "output", 0.01),
        ("reduce_ndpr", "ndpr_oxide", "input", 1.25),
        ("reduce_ndpr", "ndpr_metal", "output", 1.0),
        ("reduce_dy", "dy_oxide", "input", 1.25),
        ("reduce_dy", "dy_metal", "output", 1.0),
        ("make_sintered", "ndpr_metal", "input", 0.32),
        ("make_sintered", "dy_metal", "input", 0.016),
        ("make_sintered", "ndfeb_sintered", "output", 1.0),
    ]
    production = [
        ("CHN", "mine_light", 1000.0),
        ("AUS", "mine_light", 400.0),
        ("USA", "mine_light", 200.0),
        ("CHN", "separate_light", 1300.0),
        ("AUS", "separate_light", 100.0),
        ("USA", "separate_light", 200.0),
        ("CHN", "reduce_ndpr", 224.0),
        ("USA", "reduce_ndpr", 32.0),
        ("CHN", "reduce_dy", 11.2),
        ("USA", "reduce_dy", 1.6),
        ("CHN", "make_sintered", 700.0),
        ("USA", "make_sintered", 100.0),
    ]
    trade = [
        ("concentrate_light", "AUS", "CHN", 300.0),
        ("ndpr_oxide", "AUS", "CHN", 20.0),
        ("dy_oxide", "AUS", "CHN", 1.0),
        ("ndfeb_sintered", "CHN", "USA", 150.0),
        ("ndfeb_sintered", "CHN", "AUS", 150.0),
    ]
    demand = [
        ("CHN", "ev_traction", "ndfeb_sintered", 300.0),
        ("CHN", "wind", "ndfeb_sintered", 100.0),
        ("USA", "ev_traction", "ndfeb_sintered", 200.0),
        ("USA", "wind", "ndfeb_sintered", 50.0),
        ("AUS", "ev_traction", "ndfeb_sintered", 100.0),
        ("AUS", "wind", "ndfeb_sintered", 50.0),
    ]
    contents = [
        ("concentrate_light", "Nd", 0.15),
        ("concentrate_light", "Pr", 0.05),
        ("concentrate_light", "Dy", 0.002),
        ("ndpr_oxide", "Nd", 0.64),
        ("ndpr_oxide", "Pr", 0.21),
        ("dy_oxide", "Dy", 0.87),
        ("ndpr_metal", "Nd", 0.75),
        ("ndpr_metal", "Pr", 0.25),
        ("dy_metal", "Dy", 0.8),
        ("ndfeb_sintered", "Nd", 0.24),
        ("ndfeb_sintered", "Pr", 0.08),
        ("ndfeb_sintered", "Dy", 0.013),
    ]
    spare = {"CHN": 1.2, "USA": 1.5, "AUS": 1.25}
    capacities = [(r, k, 2024, v * spare[r]) for r, k, v in production]
    capacities += [("AUS", "reduce_ndpr", 2024, 0.0), ("AUS", "make_sintered", 2024, 0.0)]
    prices = [
        ("concentrate_light", 5.0),
        ("ndpr_oxide", 60.0),
        ("dy_oxide", 250.0),
        ("ndpr_metal", 75.0),
        ("dy_metal", 320.0),
        ("ndfeb_sintered", 50.0),
    ]
    params = [(k, v, "", k.replace("_", " ")) for k, v in bundled_parameters().items()]
    return {
        "regions": _frame(
            ["region", "name", "kind"],
            [
                ("CHN", "China", "country"),
                ("USA", "United States", "country"),
                ("AUS", "Australia", "country"),
            ],
            provenance=False,
        ),
        "country_regions": _frame(
            ["iso3", "country", "region"], [(r, r, r) for r in regions], provenance=False
        ),
        "elements": _frame(
            ["element", "name", "atomic_number", "group"],
            [
                ("Pr", "Praseodymium", 59, "light"),
                ("Nd", "Neodymium", 60, "light"),
                ("Tb", "Terbium", 65, "heavy"),
                ("Dy", "Dysprosium", 66, "heavy"),
            ],
            provenance=False,
        ),
        "products": _frame(
            ["product", "name", "stage", "basis"],
            [(p, p, s, b) for p, s, b in products],
            provenance=False,
        ),
        "sectors": _frame(
            ["sector", "name", "unit_name"],
            [("ev_traction", "EV traction motors", "vehicle"), ("wind", "Wind", "MW")],
            provenance=False,
        ),
        "contents": _frame(["product", "element", "mass_fraction"], contents),
        "processes": _frame(
            ["process", "name", "stage", "activity_unit"],
            [(k, k, s, "t") for k, s in processes],
            provenance=False,
        ),
        "recipes": _frame(["process", "product", "role", "tonnes_per_tonne_activity"], recipes),
        "capacities": _frame(["region", "process", "year", "tonnes_per_year"], capacities),
        "projects": _frame(
            [
                "project",
                "region",
                "process",
                "start_month",
                "ramp_months",
                "tonnes_per_year",
                "status",
            ],
            [("USA magnets", "USA", "make_sintered", "2027-01", 12, 120.0, "construction")],
        ),
        "production": _frame(
            ["region", "process", "year", "tonnes_per_year"],
            [(r, k, 2024, v) for r, k, v in production],
        ),
        "trade": _frame(
            ["product", "exporter", "importer", "year", "tonnes_per_year"],
            [(p, e, i, 2024, v) for p, e, i, v in trade],
        ),
        "demand": _frame(
            ["region", "sector", "product", "year", "tonnes_per_year"],
            [(r, s, p, 2024, v) for r, s, p, v in demand],
        ),
        "stock_changes": _frame(["region", "product", "year", "tonnes_per_year"], []),
        "inventories": _frame(
            ["region", "product", "cover_months"],
            [
                (r, p, 3.0 if p == "ndfeb_sintered" else 2.0)
                for r in regions
                for p, _, _ in products
            ],
        ),
        "intensities": _frame(
            ["sector", "product", "kg_per_unit", "usd_per_unit"],
            [
                ("ev_traction", "ndfeb_sintered", 2.0, 40000.0),
                ("wind", "ndfeb_sintered", 600.0, 1.2e6),
            ],
        ),
        "prices": _frame(
            ["product", "market", "year", "usd_per_kg"],
            [
                (p, m, 2024, v * (1.0 if m == "china" else 1.2))
                for p, v in prices
                for m in ("china", "ex_china")
            ],
        ),
        "parameters": _frame(["name", "value", "unit", "description"], params),
    }


@pytest.fixture
def tiny_network() -> Network:
    return Network(tables=tiny_tables(), source="tiny test network")


# Parameters that freeze the behavioural responses, so that a policy's effect on flows can be
# computed by hand: no growth, no restocking, no rerouting, no demand response.
FROZEN = {
    "demand_growth_per_year": 0.0,
    "capacity_growth_per_year": 0.0,
    "restock_months": 1e12,
    "rerouting_months": 1e12,
    "demand_elasticity": 0.0,
    "demand_elasticity_long": 0.0,
    "substitution_max_share": 0.0,
    "capacity_entry_per_year": 0.0,
}


@pytest.fixture
def frozen() -> dict[str, float]:
    return dict(FROZEN)


@pytest.fixture(autouse=True)
def _no_bundled_posterior(monkeypatch: pytest.MonkeyPatch) -> None:
    """Scenarios without an ``uncertainty:`` section draw from the bundled posterior, which
    changes with every calibration: tests run without it unless they point
    ``RAREFLOW_POSTERIOR`` at a sample of their own (``tests/test_calibrate_abc.py``)."""
    monkeypatch.setenv("RAREFLOW_POSTERIOR", "none")
