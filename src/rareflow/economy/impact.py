"""A run's shortages through an input-output table: value added and GDP lost.

The shock is a run's ``shortage_share`` (D, T, region, sector): the share of each rareflow
sector's need not met in a month, read as the share of its output stopped. Through the
mapping it becomes each table industry's capacity loss (``Mapping.capacity_loss``), held for
every step of the month; the ARIO model (``ario``) then propagates it to suppliers and
customers. Loss of an industry in a step: ``(x0 - production) * VA / x`` (negative when it
catches up above baseline, so output only deferred nets out). Reported per rareflow region
(table regions split by the mapping's shares) and table sector:

| variable | dims | unit |
|---|---|---|
| ``value_added_lost_usd`` | draw, month (datetime), region, sector | USD in the month |
| ``gdp_usd`` | region | USD a year (the table's value added) |
| ``direct`` | sector | the table sector makes some rareflow sector |

Months of the run only: what the economy loses after the horizon is not counted.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from rareflow.economy import ario
from rareflow.economy.mapping import Mapping, default_mapping, read_mapping
from rareflow.economy.table import Table, load_table
from rareflow.engine.dims import internal, month_times

SHOCK = "shortage_share"
STEPS = ("day", "month")


@dataclass(frozen=True)
class Setup:
    table: Table
    mapping: Mapping
    static: ario.Static
    params: ario.Params
    step: str
    mapping_path: str


def setup(regions: list[str], sectors: list[str], mrio: str | Path | None = None,
          mapping: str | Path | None = None, step: str = "day") -> Setup:  # fmt: skip
    from rareflow.errors import UserInputError

    if step not in STEPS:
        raise UserInputError("unknown step", field="step", value=step, expected="day or month")
    table = load_table(mrio)
    path = Path(mapping) if mapping is not None else default_mapping(table.name)
    mapped = read_mapping(path, table.regions, table.sectors, regions, sectors)
    params = ario.Params() if step == "day" else ario.Params.monthly()
    st = ario.static(table.z, table.final, len(table.regions), len(table.sectors), params)
    return Setup(table, mapped, st, params, step, str(path))


def steps_per_month(months: list[str], step: str) -> list[int]:
    if step == "month":
        return [1] * len(months)
    return [pd.Period(m, freq="M").days_in_month for m in months]


def losses(su: Setup, shock: np.ndarray, months: list[str], dtype: str = "float64") -> np.ndarray:
    """(D, T, r, s) shortage shares -> (D, T, N) value added lost per table industry, in the
    table's units per month; draws in chunks of ``ario.draws_per_chunk``. ``dtype``: of the
    per-draw inventories, order weights and Z products (``ario.cast``); float32 is about
    1.7-1.8x as fast on many draws (``benchmarks/bench_economy.py --quick``), within the
    tolerance docs/economy.md states."""
    delta = su.mapping.capacity_loss(shock)  # (D, T, N)
    out = np.zeros_like(delta)
    if not delta.any():
        return out
    per_step = steps_per_month(months, su.step)
    month_of = np.repeat(np.arange(len(months)), per_step)
    va = su.static.va_ratio
    st = ario.cast(su.static, dtype)  # once, not per chunk: a copy of Z
    size = ario.draws_per_chunk(st)
    for lo in range(0, len(delta), size):
        part = delta[lo : lo + size]
        sequence = (part[:, t] for t, k in enumerate(per_step) for _ in range(k))
        steps = ario.simulate(st, sequence, len(part), su.params)
        for k, (_, rec) in enumerate(steps):
            out[lo : lo + size, month_of[k]] += (su.static.x0 - rec.production) * va
    return out


def by_region(su: Setup, industry: np.ndarray) -> np.ndarray:
    """(..., N) table industries -> (..., r, S): split by the mapping's region shares."""
    t_regions, t_sectors = len(su.table.regions), len(su.table.sectors)
    grid = industry.reshape(*industry.shape[:-1], t_regions, t_sectors)
    return np.einsum("...RS,Rr->...rS", grid, su.mapping.regions)


def dataset(su: Setup, lost: np.ndarray, months: list[str], regions: list[str],
            sectors: list[str]) -> xr.Dataset:  # fmt: skip
    usd = su.table.usd_per_unit
    home = [su.table.sectors[i] for i in su.mapping.sectors.argmax(axis=0)]
    gdp = by_region(su, su.table.value_added) * usd  # (r, S) a year
    coords = {"draw": np.arange(lost.shape[0]), "month": month_times(months), "region": regions,
              "sector": su.table.sectors}  # fmt: skip
    ds = xr.Dataset(
        {
            "value_added_lost_usd": (
                ("draw", "month", "region", "sector"),
                by_region(su, lost) * usd,
                {"unit": "USD/month"},
            ),
            "gdp_usd": (("region",), gdp.sum(axis=1), {"unit": "USD/year"}),
            "value_added_usd": (("region", "sector"), gdp, {"unit": "USD/year"}),
            "direct": (("sector",), su.mapping.direct),
            "home_sector": (("rf_sector",), home),  # the table sector a rareflow one is in
        },
        coords={**coords, "rf_sector": sectors},
    )
    ds.attrs.update(
        table=su.table.name, mapping=su.mapping_path, step=su.step, unit_note=su.table.unit_note,
        shock=SHOCK, no_shortage=int(not np.any(lost)),
    )  # fmt: skip
    return ds


def impact_of_shock(shock: np.ndarray, months: list[str], regions: list[str],
                    sectors: list[str], mrio: str | Path | None = None,
                    mapping: str | Path | None = None, step: str = "day",
                    dtype: str = "float64") -> xr.Dataset:  # fmt: skip
    """The impact of shortage shares ``shock`` (D, T, regions, sectors); ``dtype`` as in
    ``losses``."""
    su = setup(regions, sectors, mrio, mapping, step)
    return dataset(su, losses(su, shock, months, dtype), months, regions, sectors)


def impact(result: Any, mrio: str | Path | None = None, mapping: str | Path | None = None,
           step: str = "day") -> xr.Dataset:  # fmt: skip
    """The impact of a ``RunResult`` (every draw)."""
    ds = internal(result.dataset)
    share = ds[SHOCK].transpose("draw", "month", "region", "sector")
    months = [str(m) for m in share["month"].values]
    out = impact_of_shock(np.nan_to_num(share.values), months, list(share["region"].values),
                          list(share["sector"].values), mrio, mapping, step)  # fmt: skip
    return with_units(out, ds)


def with_units(out: xr.Dataset, run: Any) -> xr.Dataset:
    """Units lost and deferred per rareflow sector, from the run: its own ``units_lost`` and
    ``units_deferred`` where it has them, else ``units_not_built`` as lost and none deferred."""
    if "units_lost" in run:
        lost, deferred, source = run["units_lost"], run.get("units_deferred"), "units_lost"
    else:
        lost, deferred, source = run["units_not_built"], None, "units_not_built"
    dims = ("draw", "month", "region", "rf_sector")
    lost = lost.rename(sector="rf_sector").transpose(*dims)
    out["units_lost"] = (dims, lost.values)  # by position: the run's months are text
    if deferred is not None:
        out["units_deferred"] = (dims, deferred.rename(sector="rf_sector").transpose(*dims).values)
    else:
        out["units_deferred"] = (dims, np.zeros(lost.shape))
    out.attrs["units_source"] = source
    return out


def horizon(ds: xr.Dataset, draws: str = "mean") -> pd.DataFrame:
    """Rows region, sector, value_added_lost_usd, gdp_loss_share, indirect_share, units_lost,
    units_deferred for the horizon (mean over draws), with a ``total`` row per region and an
    ``all`` region; units of rareflow sectors are put on the table sector that makes the
    largest share of them."""
    lost = ds["value_added_lost_usd"].sum("month").mean("draw")  # (region, sector)
    years = ds.sizes["month"] / 12
    gdp = ds["gdp_usd"] * years
    direct = ds["direct"].values
    rows = []
    units = _units_by_sector(ds)
    for r, region in enumerate(ds["region"].values):
        for s, sector in enumerate(ds["sector"].values):
            value = float(lost.values[r, s])
            u_lost, u_def = units.get((str(region), str(sector)), (0.0, 0.0))
            rows.append([str(region), str(sector), value, value / float(gdp.values[r]),
                         0.0 if direct[s] else 1.0, u_lost, u_def])  # fmt: skip
    frame = pd.DataFrame(rows, columns=ROW_COLUMNS)
    totals = [_total(g, str(k), float(gdp.sel(region=k))) for k, g in frame.groupby("region")]
    world = _total(frame, "all", float(gdp.sum()))
    keep = frame[(frame["value_added_lost_usd"] != 0) | (frame["units_lost"] != 0)]
    return pd.concat([keep, pd.DataFrame([*totals, world], columns=ROW_COLUMNS)],
                     ignore_index=True)  # fmt: skip


ROW_COLUMNS = ["region", "sector", "value_added_lost_usd", "gdp_loss_share", "indirect_share",
               "units_lost", "units_deferred"]  # fmt: skip


def _total(frame: pd.DataFrame, region: str, gdp: float) -> list[Any]:
    """A region's total row. ``indirect_share``: the loss of sectors that use no rare earths
    over the loss of all sectors, counting a sector that gained (made more than its baseline,
    catching up or serving others) as zero, so that the share stays in [0, 1]."""
    value = float(frame["value_added_lost_usd"].sum())
    lost = frame["value_added_lost_usd"].clip(lower=0.0)
    indirect = float((lost * frame["indirect_share"]).sum())
    share = indirect / float(lost.sum()) if lost.sum() > 0 else 0.0
    return [region, "total", value, value / gdp if gdp else 0.0, share,
            float(frame["units_lost"].sum()), float(frame["units_deferred"].sum())]  # fmt: skip


def _units_by_sector(ds: xr.Dataset) -> dict[tuple[str, str], tuple[float, float]]:
    if "units_lost" not in ds:
        return {}
    weights = _sector_weights(ds)
    lost = ds["units_lost"].sum("month").mean("draw")
    deferred = ds["units_deferred"].sum("month").mean("draw")
    out: dict[tuple[str, str], tuple[float, float]] = {}
    for rf, table_sector in weights.items():
        for region in ds["region"].values:
            key = (str(region), table_sector)
            a, b = out.get(key, (0.0, 0.0))
            out[key] = (a + float(lost.sel(region=region, rf_sector=rf)),
                        b + float(deferred.sel(region=region, rf_sector=rf)))  # fmt: skip
    return out


def _sector_weights(ds: xr.Dataset) -> dict[str, str]:
    return {str(k): str(v) for k, v in zip(ds["rf_sector"].values, ds["home_sector"].values,
                                           strict=True)}  # fmt: skip


def by_region_table(ds: xr.Dataset, quantiles: tuple[float, ...] = ()) -> pd.DataFrame:
    """Per region: gdp_loss_usd and gdp_loss_share over the horizon (mean over draws), and
    their quantiles over the draws when asked."""
    per_draw = ds["value_added_lost_usd"].sum(("month", "sector"))  # (draw, region)
    gdp = ds["gdp_usd"] * ds.sizes["month"] / 12
    frame = pd.DataFrame({
        "region": [str(r) for r in ds["region"].values],
        "gdp_loss_usd": per_draw.mean("draw").values,
        "gdp_loss_share": (per_draw.mean("draw") / gdp).values,
    })  # fmt: skip
    for q in quantiles:
        name = f"p{round(q * 100):d}"
        frame[f"gdp_loss_usd_{name}"] = per_draw.quantile(q, dim="draw").values
        frame[f"gdp_loss_share_{name}"] = (per_draw.quantile(q, dim="draw") / gdp).values
    return frame


def iter_blocks(blocks: Iterator[tuple[np.ndarray, list[str]]], su: Setup) -> Iterator[np.ndarray]:
    """Losses of streamed blocks of draws ((D, T, r, s) shocks), one block at a time."""
    for shock, months in blocks:
        yield losses(su, shock, months)
