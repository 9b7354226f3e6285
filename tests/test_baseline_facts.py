"""The bundled baseline against the fact rows it was built from (targets, balance, provenance).

Targets are read from ../shared/data/facts (the fact base next to the repository), never typed.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from rareflow.data.network import BASELINE_DIR
from rareflow.data.schema import TABLES

FACTS = Path(__file__).parents[1].parent / "shared" / "data" / "facts"
needs_facts = pytest.mark.skipif(
    not FACTS.is_dir(), reason=f"fact base not found at {FACTS} (../shared/data/facts)"
)
YEAR = 2024
MAGNETS = ("ndfeb_sintered", "ndfeb_bonded", "smco")
HEAVY_OXIDES = ("gd_oxide", "tb_oxide", "dy_oxide", "ho_oxide", "er_oxide", "tm_oxide",
                "yb_oxide", "lu_oxide", "y_oxide", "sc_oxide")  # fmt: skip


def table(name: str) -> pd.DataFrame:
    return pd.read_csv(BASELINE_DIR / f"{name}.csv", keep_default_na=False)


def fact(name: str) -> pd.DataFrame:
    return pd.read_csv(FACTS / f"{name}.csv", dtype=str, keep_default_na=False)


def share_fact(**equal: str) -> float:
    rows = fact("stage_shares")
    for column, value in equal.items():
        rows = rows[rows[column] == value]
    assert len(rows) >= 1, equal
    return float(rows.iloc[0]["share_pct"]) / 100.0


def china_share(frame: pd.DataFrame, value: str = "tonnes_per_year") -> float:
    return float(frame.loc[frame["region"] == "CHN", value].sum() / frame[value].sum())


def production(prefix: str) -> pd.DataFrame:
    prod = table("production")
    return prod[(prod["year"] == YEAR) & prod["process"].str.startswith(prefix)]


@needs_facts
def test_world_mine_production_matches_the_newest_usgs_edition() -> None:
    mines = fact("mine_production")
    world = mines[(mines["iso3"] == "WLD") & (mines["year"] == str(YEAR))]
    newest = world.sort_values("source_edition").iloc[-1]
    assert newest["source_edition"] == "MCS 2026"
    built = production("mine")["tonnes_per_year"].sum()
    assert built == pytest.approx(float(newest["tonnes_reo"]), rel=0.01)


@needs_facts
@pytest.mark.parametrize(
    ("prefix", "equal"),
    [
        (
            "mine",
            {"stage": "mining", "element_group": "all (REE)", "year": "2024", "basis": "actual"},
        ),
        (
            "separate",
            {"stage": "separation/refining", "element_group": "all (REE)", "year": "2024"},
        ),
        ("make_sintered", {"stage": "sintered NdFeB magnet production", "year": "2024"}),
    ],
)
def test_china_stage_shares_match_their_fact_rows(prefix: str, equal: dict[str, str]) -> None:
    target = share_fact(country="China", **equal)
    assert china_share(production(prefix)) == pytest.approx(target, abs=0.02)


@needs_facts
def test_china_heavy_separation_share_matches_its_fact_row() -> None:
    target = share_fact(country="China", stage="separation/refining", element_group="HREE",
                        basis="CSIS")  # fmt: skip
    recipes = table("recipes")
    heavy = recipes[(recipes["role"] == "output") & recipes["product"].isin(HEAVY_OXIDES)]
    per_activity = heavy.groupby("process")["tonnes_per_tonne_activity"].sum()
    sep = production("separate")
    sep = sep.assign(heavy=sep["process"].map(per_activity).fillna(0.0) * sep["tonnes_per_year"])
    assert china_share(sep, "heavy") == pytest.approx(target, abs=0.02)


def magnet_exports() -> pd.DataFrame:
    trade = table("trade")
    return trade[(trade["year"] == YEAR) & (trade["exporter"] == "CHN")
                 & trade["product"].isin(MAGNETS)]  # fmt: skip


@needs_facts
def test_china_magnet_exports_match_the_2024_total() -> None:
    flows = fact("trade_flows_annual")
    total = flows[(flows["reporter"] == "China") & (flows["partner"] == "World")
                  & (flows["year"] == "2024") & (flows["hs_code"] == "8505.11 etc.")]  # fmt: skip
    assert magnet_exports()["tonnes_per_year"].sum() == pytest.approx(
        float(total.iloc[0]["quantity"]), rel=0.01
    )


CALIBRATION = FACTS.parent / "calibration"
OBSERVED_REGIONS = {"United States": "USA", "Germany": "DEU", "Japan": "JPN", "India": "IND",
                    "South Korea": "KOR", "Vietnam": "VNM"}  # fmt: skip


def exports_by_importer() -> pd.Series:
    return magnet_exports().groupby("importer")["tonnes_per_year"].sum()


@needs_facts
def test_magnet_exports_to_observed_destinations_sit_within_their_2024_customs_months() -> None:
    """Intended since issue 18: destinations with 2024 customs months (all derived from 2025
    tonnes and printed y/y changes) are built from them, no longer from an assumed split."""
    rows = pd.read_csv(CALIBRATION / "china_magnet_exports_by_destination.csv", dtype=str)
    rows = rows[rows["month"].str.startswith("2024") & rows["destination"].isin(OBSERVED_REGIONS)]
    monthly = exports_by_importer() / 12.0
    for partner, part in rows.groupby("destination"):
        tonnes = part["tonnes"].astype(float)
        region = OBSERVED_REGIONS[str(partner)]
        assert 0.85 * tonnes.min() <= monthly[region] <= 1.15 * tonnes.max(), region
    assert 150 <= monthly["JPN"] <= 235  # customs: 156-189 t in 2024 months, not ~480


@needs_facts
def test_germany_korea_and_the_us_take_their_reported_2024_share() -> None:
    """Metalnomist (fact row): Germany + South Korea + US = 42% of Jan-Jul 2024 exports."""
    flows = fact("trade_flows_annual")
    row = flows[(flows["reporter"] == "China") & (flows["period"] == "Jan-Jul")
                & (flows["year"] == "2024")].iloc[0]  # fmt: skip
    share = float(re.search(r"Germany\+S\.Korea\+US = (\d+)%", row["notes"]).group(1)) / 100
    built = exports_by_importer()
    assert (built["DEU"] + built["KOR"] + built["USA"]) / built.sum() == pytest.approx(
        share, abs=0.02
    )


@needs_facts
def test_magnet_exports_elsewhere_follow_the_facts_used() -> None:
    flows = fact("trade_flows_annual")
    y2020 = flows[(flows["reporter"] == "China") & (flows["year"] == "2020")]
    world_2020 = float(y2020.loc[y2020["partner"] == "World", "quantity"].iloc[0])
    built = exports_by_importer()
    thailand = float(y2020.loc[y2020["partner"] == "Thailand", "quantity"].iloc[0]) / world_2020
    assert built["THA"] / built.sum() == pytest.approx(thailand, rel=0.05)
    eu = flows[(flows["reporter"] == "EU") & (flows["partner"] == "China")
               & (flows["product"] == "permanent magnets used by EU industry")]  # fmt: skip
    assert built["DEU"] + built["XEU"] == pytest.approx(float(eu.iloc[0]["quantity"]), rel=0.02)


def test_only_destinations_without_data_are_assumptions() -> None:
    exports = magnet_exports()
    kinds = exports.groupby("importer")["provenance"].agg(set)
    assumed = {r for r, k in kinds.items() if "assumption" in k}
    assert assumed <= {"MEX", "GBR", "MYS", "ROW"}
    for region in OBSERVED_REGIONS.values():
        notes = exports.loc[exports["importer"] == region, "note"]
        assert notes.str.contains("observed 2024 share").all(), region


def node_balance() -> pd.DataFrame:
    """production + imports - process use - final use - exports - stock change per node."""
    keys = ["region", "product"]
    flows = table("production").merge(table("recipes"), on="process")
    flows["t"] = flows["tonnes_per_year"] * flows["tonnes_per_tonne_activity"]
    trade = table("trade")
    parts = {
        "production": flows[flows["role"] == "output"].groupby(keys)["t"].sum(),
        "process_use": flows[flows["role"] == "input"].groupby(keys)["t"].sum(),
        "imports": trade.rename(columns={"importer": "region"})
        .groupby(keys)["tonnes_per_year"]
        .sum(),
        "exports": trade.rename(columns={"exporter": "region"})
        .groupby(keys)["tonnes_per_year"]
        .sum(),
        "final_use": table("demand").groupby(keys)["tonnes_per_year"].sum(),
        "stock_change": table("stock_changes").groupby(keys)["tonnes_per_year"].sum(),
    }
    frame = pd.concat(parts, axis=1).fillna(0.0)
    supply = frame["production"] + frame["imports"]
    use = frame["process_use"] + frame["final_use"] + frame["exports"]
    frame["relative"] = (supply - use - frame["stock_change"]).abs() / pd.concat(
        [supply, use], axis=1
    ).max(axis=1)
    return frame


def test_every_node_balances_within_a_tenth_of_a_percent() -> None:
    frame = node_balance()
    assert len(frame) > 100
    worst = frame["relative"].idxmax()
    assert frame["relative"].max() <= 1e-3, (worst, frame.loc[worst].to_dict())


def test_stock_changes_are_small() -> None:
    frame = node_balance()
    throughput = frame["production"] + frame["imports"]
    assert (frame["stock_change"].abs() <= 0.05 * throughput + 1.0).all()


def test_every_row_has_provenance() -> None:
    for name, schema in TABLES.items():
        if not schema.provenance:
            continue
        frame = table(name)
        assert frame["provenance"].isin(["sourced", "derived", "assumption"]).all(), name
        assert (frame["note"].str.strip() != "").all(), name
        sourced = frame["provenance"] == "sourced"
        assert (frame.loc[sourced, "source_url"].str.startswith("http")).all(), name
        assert (frame.loc[~sourced, "source_url"] == "").all(), name


@needs_facts
def test_no_held_out_prices_are_used() -> None:
    prices = fact("prices")
    held_out = set(
        prices.index[prices["date"].str[:4].isin([str(y) for y in range(2010, 2016)])] + 2
    )
    built = table("prices")
    cited = {
        int(n) for note in built["note"] for n in re.findall(r"prices\.csv row[s]? (\d+)", note)
    }
    cited |= {int(n) for note in built["note"] for n in re.findall(r"row (\d+)", note)
              if "prices.csv" in note}  # fmt: skip
    assert not cited & held_out
    assert set(built["year"]) <= {2024, 2025}


def test_every_product_has_a_base_year_price_in_both_markets() -> None:
    prices = table("prices")
    base = prices[prices["year"] == YEAR]
    products = set(table("products")["product"])
    for market in ("china", "ex_china"):
        assert set(base.loc[base["market"] == market, "product"]) == products
    assert (base["usd_per_kg"] > 0).all()


def test_the_bundled_baseline_validates_and_compiles() -> None:
    from rareflow.data.network import load_baseline
    from rareflow.model.compiled import compile_network

    net = load_baseline()
    assert net.base_year == YEAR
    compiled = compile_network(net)
    assert compiled.shape == {
        "region": 15,
        "product": 23,
        "process": 11,
        "sector": 8,
        "element": 17,
    }


def test_every_final_use_has_an_intensity() -> None:
    demand, intensities = table("demand"), table("intensities")
    used = set(zip(demand["sector"], demand["product"], strict=True))
    assert used <= set(zip(intensities["sector"], intensities["product"], strict=True))


@needs_facts
def test_every_country_in_the_facts_maps_to_a_region() -> None:
    mapped = set(table("country_regions")["iso3"])
    isos = set(fact("mine_production")["iso3"]) - {"", "WLD"}
    assert isos <= mapped


@needs_facts
@pytest.mark.parametrize(
    ("importer", "suffixes", "reporter", "partner", "product", "tolerance"),
    [
        ("JPN", ("_metal",), "Japan", "China", "rare earth metals (excl. compounds)", 0.05),
        ("USA", ("_oxide", "_metal"), "United States", "China (incl. Hong Kong)",
         "rare-earth compounds and metals (share of imports)", 0.10),
    ],
)  # fmt: skip
def test_import_sourcing_shares_follow_their_fact_rows(
    importer: str, suffixes: tuple[str, ...], reporter: str, partner: str, product: str,
    tolerance: float,
) -> None:  # fmt: skip
    flows = fact("trade_flows_annual")
    years = {"JPN": "2024", "USA": "2021-2024"}
    row = flows[(flows["reporter"] == reporter) & (flows["partner"] == partner)
                & (flows["product"] == product) & (flows["year"] == years[importer])].iloc[0]  # fmt: skip
    trade = table("trade")
    imports = trade[(trade["importer"] == importer) & trade["product"].str.endswith(suffixes)]
    share = (
        imports.loc[imports["exporter"] == "CHN", "tonnes_per_year"].sum()
        / imports["tonnes_per_year"].sum()
    )
    assert share == pytest.approx(float(row["share_pct"]) / 100.0, abs=tolerance)
