"""The build: facts -> priors -> reconciled baseline tables -> CSV files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from rareflow.build import balance, chemistry, demand, dimensions, supply, trade
from rareflow.build.curated import Assumptions, load_assumptions, load_parameters
from rareflow.build.facts import Facts, load_facts
from rareflow.build.system import Registry
from rareflow.data.schema import DIMENSION_TABLES, TABLES

BASE_YEAR = 2024
NON_MAGNET = [p for p in dimensions.product_codes() if p not in dimensions.MAGNETS]


def calibration_source(facts_dir: Path, calibration_dir: Path | None = None) -> Path:
    """The customs series' folder: the one given, else ``calibration/`` beside the facts (the
    shared data base), else the copies bundled in ``rareflow/data/reference``."""
    from rareflow.data.reference import REFERENCE_DIR
    from rareflow.history.observed import FILE_NAME

    if calibration_dir is not None:
        return calibration_dir
    beside = facts_dir.parent / "calibration"
    return beside if (beside / FILE_NAME).exists() else REFERENCE_DIR


def priors(
    facts: Facts, a: Assumptions, recipe: pd.DataFrame, calibration: Path
) -> tuple[Registry, list]:
    """All variables with their priors, and the soft targets."""
    rin, rout = chemistry.recipe_matrices(recipe)
    reg = Registry()
    mines = supply.mining(facts, a, BASE_YEAR)
    targets = supply.mining_vars(reg, mines)
    supply.separation_vars(reg, facts, a, mines)
    magnets = supply.magnet_vars(reg, facts, a)
    supply.metal_vars(reg, a, magnets)
    trade.concentrate_arcs(reg, facts)
    targets += trade.magnet_arcs(reg, facts, a, calibration)
    trade.ndpr_arcs(reg, facts)
    demand.magnet_demand(reg, demand.ledger(reg, rin, rout), facts)
    demand.residual_demand(reg, demand.ledger(reg, rin, rout), NON_MAGNET)
    trade.pool_arcs(reg, demand.ledger(reg, rin, rout), NON_MAGNET)
    targets += trade.sourcing_targets(reg, facts)
    targets += balance.share_targets(reg, facts, rout)
    balance.stock_vars(reg, rin, rout)
    return reg, targets


def build_tables(facts_dir: Path, calibration_dir: Path | None = None) -> dict[str, pd.DataFrame]:
    """The baseline tables from the facts and the observed customs series."""
    from rareflow.build import capacity, loss_tables, prices, sector_data

    facts, a = load_facts(facts_dir), load_assumptions()
    recipe = chemistry.recipes(a)
    rin, rout = chemistry.recipe_matrices(recipe)
    reg, targets = priors(facts, a, recipe, calibration_source(facts_dir, calibration_dir))
    result = balance.solve(reg, rin, rout, targets)
    production = balance.flow_table(result, "activity", BASE_YEAR)
    price_table = prices.prices(facts, a)
    demand_table = balance.flow_table(result, "demand", BASE_YEAR)
    platform_table = loss_tables.platforms(facts)
    tables = {
        "regions": dimensions.regions(),
        "country_regions": dimensions.country_regions(),
        "elements": dimensions.elements(),
        "products": dimensions.products(),
        "sectors": dimensions.sectors(),
        "processes": dimensions.processes(),
        "contents": chemistry.contents(a),
        "recipes": recipe,
        "production": production,
        "trade": balance.flow_table(result, "trade", BASE_YEAR),
        "demand": demand_table,
        "stock_changes": balance.flow_table(result, "stock", BASE_YEAR),
        "capacities": capacity.capacities(production, facts, a, rout),
        "projects": capacity.projects(facts, a),
        "inventories": sector_data.inventories(facts),
        "transit": sector_data.transit(),
        "intensities": sector_data.intensities(facts, price_table, demand_table, platform_table),
        "platforms": platform_table,
        "value_added": loss_tables.value_added(),
        "prices": price_table,
        "parameters": load_parameters(),
    }
    return {name: finish(name, frame) for name, frame in tables.items()}


def finish(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Schema column order, sorted by key; source_url only on sourced rows."""
    table = TABLES[name]
    frame = frame.copy()
    if table.provenance:
        moved = (frame["provenance"] != "sourced") & (frame["source_url"] != "")
        frame.loc[moved, "note"] = (
            frame.loc[moved, "note"] + " | see " + frame.loc[moved, "source_url"]
        )
        frame.loc[frame["provenance"] != "sourced", "source_url"] = ""
    columns = [c.name for c in table.all_columns]
    frame = frame[columns]
    if name not in DIMENSION_TABLES:
        frame = frame.sort_values(list(table.key), kind="stable")
    return frame.reset_index(drop=True)


def write_tables(tables: dict[str, pd.DataFrame], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, frame in tables.items():
        path = out / f"{name}.csv"
        frame.to_csv(path, index=False, float_format="%.10g", lineterminator="\n")
        paths.append(path)
    return paths
