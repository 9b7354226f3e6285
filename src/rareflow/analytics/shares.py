"""Regional shares of each stage of the chain, and their concentration, from a ``Network``.

A stage's quantity in a region is the activity of the stage's processes (mining: ``mine_*``,
separation: ``separate_*``, metal: ``reduce_*``, magnet: ``make_*``; t of activity per year).
``heavy_separation`` is the heavy-element content (elements group ``heavy``) of the separated
oxides. With an element, a stage's quantity is the element content of the stage's output:
sum over products of output x mass_fraction, output = activity x recipe output coefficient.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from rareflow.analytics.concentration import hhi, top_share
from rareflow.errors import UserInputError

if TYPE_CHECKING:
    from rareflow.data.network import Network

STAGES = ("mining", "separation", "heavy_separation", "metal", "magnet")
_PRODUCT_STAGE = {"heavy_separation": "separation"}  # which products a stage's output is


def _num(frame: pd.DataFrame, column: str) -> pd.Series:
    # CSV tables are read as text until validated; be robust to either
    return pd.to_numeric(frame[column], errors="coerce").fillna(0.0)


def default_year(network: Network) -> int:
    """The base year when the dataset declares one, else the latest production year."""
    try:
        return network.base_year
    except (KeyError, AttributeError):
        return int(pd.to_numeric(network.tables["production"]["year"]).max())


def check_stage(stage: str) -> str:
    if stage not in STAGES:
        from rareflow.errors import did_you_mean

        raise UserInputError("unknown stage", value=stage, expected=", ".join(STAGES),
                             hint=did_you_mean(stage, list(STAGES)))  # fmt: skip
    return stage


def check_element(network: Network, element: str) -> str:
    if element not in network.elements:
        raise UserInputError("unknown element", value=element, expected=", ".join(network.elements))
    return element


def heavy_elements(network: Network) -> list[str]:
    elements = network.tables["elements"]
    return list(elements.loc[elements["group"] == "heavy", "element"])


def _activity(network: Network, year: int) -> pd.DataFrame:
    """Process activity in ``year``: region, process, tonnes."""
    prod = network.tables["production"]
    frame = pd.DataFrame(
        {
            "region": prod["region"],
            "process": prod["process"],
            "year": pd.to_numeric(prod["year"]),
            "tonnes": _num(prod, "tonnes_per_year"),
        }
    )
    years = sorted(frame["year"].unique())
    if year not in years:
        raise UserInputError(
            "no production data for this year", value=year, expected=", ".join(map(str, years))
        )
    return frame.loc[frame["year"] == year, ["region", "process", "tonnes"]]


def product_output(network: Network, year: int) -> pd.DataFrame:
    """Output of each product in each region: region, product, tonnes."""
    recipes = network.tables["recipes"]
    out = recipes.loc[recipes["role"] == "output", ["process", "product"]].copy()
    out["coef"] = _num(recipes.loc[recipes["role"] == "output"], "tonnes_per_tonne_activity")
    merged = _activity(network, year).merge(out, on="process")
    merged["tonnes"] = merged["tonnes"] * merged["coef"]
    return merged.groupby(["region", "product"], as_index=False).agg(tonnes=("tonnes", "sum"))


def element_output(network: Network, year: int, stage: str, elements: list[str]) -> pd.Series:
    """Tonnes of ``elements`` in the output of the stage's products, by region."""
    products = network.tables["products"]
    stage_products = products.loc[products["stage"] == _PRODUCT_STAGE.get(stage, stage), "product"]
    contents = network.tables["contents"]
    contents = contents.loc[contents["element"].isin(elements)].copy()
    contents["fraction"] = _num(contents, "mass_fraction")
    output = product_output(network, year)
    output = output.loc[output["product"].isin(stage_products)].merge(contents, on="product")
    output["tonnes"] = output["tonnes"] * output["fraction"]
    return output.groupby("region")["tonnes"].sum()


def stage_quantity(
    network: Network, stage: str, year: int, element: str | None = None
) -> pd.Series:
    """Tonnes per region at ``stage`` (activity, or element content when ``element`` is set)."""
    if element is not None:
        if stage == "heavy_separation" and element not in heavy_elements(network):
            raise UserInputError(
                "heavy_separation counts heavy elements only",
                value=element,
                expected=", ".join(heavy_elements(network)),
            )
        return element_output(network, year, stage, [element])
    if stage == "heavy_separation":
        return element_output(network, year, stage, heavy_elements(network))
    processes = network.tables["processes"]
    stage_processes = processes.loc[processes["stage"] == stage, "process"]
    activity = _activity(network, year)
    activity = activity.loc[activity["process"].isin(stage_processes)]
    return activity.groupby("region")["tonnes"].sum()


def stage_shares(
    network: Network, stage: str, year: int | None = None, element: str | None = None
) -> pd.DataFrame:
    """Each region's share (fraction) and tonnes at a stage, largest first; zero rows dropped."""
    check_stage(stage)
    if element is not None:
        check_element(network, element)
    year = default_year(network) if year is None else int(year)
    tonnes = stage_quantity(network, stage, year, element)
    tonnes = tonnes[tonnes > 0]
    if tonnes.empty:
        what = f"{stage} of {element}" if element else stage
        raise UserInputError(f"nothing is produced at {what} in {year}", value=element or stage)
    frame = pd.DataFrame(
        {
            "region": tonnes.index.astype(str),
            "share": tonnes.to_numpy() / tonnes.sum(),
            "tonnes": tonnes.to_numpy(),
        }
    )
    return frame.sort_values(["share", "region"], ascending=[False, True]).reset_index(drop=True)


def _row(network: Network, stage: str, year: int, element: str | None) -> dict[str, object]:
    frame = stage_shares(network, stage, year, element)
    return {
        "stage": stage,
        "element": element or "all",
        "hhi": hhi(frame["share"]),
        "top1_region": frame["region"].iloc[0],
        "top1_share": top_share(frame["share"], 1),
        "top3_share": top_share(frame["share"], 3),
        "tonnes": float(frame["tonnes"].sum()),
    }


def concentration(
    network: Network,
    year: int | None = None,
    stage: str | None = None,
    element: str | None = None,
) -> pd.DataFrame:
    """HHI (0-1) and top-1/top-3 shares per stage (all stages unless one is given).

    Stages where the element is not produced (e.g. La at the magnet stage) are left out when
    no stage was asked for; asking for one that produces none is an error.
    """
    year = default_year(network) if year is None else int(year)
    _activity(network, year)  # an unknown year is reported once, with the valid years
    if element is not None:
        check_element(network, element)
    if stage is not None:
        return pd.DataFrame([_row(network, check_stage(stage), year, element)])
    rows = []
    for name in STAGES:
        try:
            rows.append(_row(network, name, year, element))
        except UserInputError:
            continue  # element absent at this stage (or a light element at heavy_separation)
    if not rows:
        raise UserInputError(f"nothing is produced in {year}", value=element)
    return pd.DataFrame(rows)
