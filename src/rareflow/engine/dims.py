"""The Python API's dimensions: months as datetimes, shipments from exporter to importer.

Inside rareflow a month is 'YYYY-MM' text and shipments share the dataset's ``region`` (the
exporter) and ``partner`` (the importer) dimensions; the store, the CLI and the dashboard work
on that form. What ``rareflow.run`` hands an analyst is ``public``: ``month`` a datetime
coordinate (the first of the month) and ``shipments`` over ``exporter`` and ``importer``.
``internal`` turns either form back, so a result's methods and the store accept both.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import xarray as xr

EXPORTER, IMPORTER = "exporter", "importer"
_PUBLIC = {"region": EXPORTER, "partner": IMPORTER}
_INTERNAL = {v: k for k, v in _PUBLIC.items()}


def month_times(months: Iterable[object]) -> pd.DatetimeIndex:
    """'YYYY-MM' months (or datetimes) as the first day of each month."""
    values = list(months)
    if values and not isinstance(values[0], str):
        return pd.DatetimeIndex(values).to_period("M").to_timestamp()
    return pd.to_datetime([str(m) for m in values], format="%Y-%m")


def month_text(values: Iterable[object]) -> list[str]:
    """Months as 'YYYY-MM' text, whether they come as text or datetimes."""
    array = np.asarray(list(values))
    if np.issubdtype(array.dtype, np.datetime64):
        return [str(m) for m in pd.DatetimeIndex(array).strftime("%Y-%m")]
    return [str(m) for m in array]


def _renamed(ds: xr.Dataset, name: str, mapping: dict[str, str]) -> xr.Dataset:
    """``ds`` with variable ``name``'s dims renamed; coordinates left unused are dropped."""
    if name not in ds or not set(mapping) & set(ds[name].dims):
        return ds
    moved = ds[name].rename({k: v for k, v in mapping.items() if k in ds[name].dims})
    data = {k: moved if k == name else ds[k] for k in ds.data_vars}
    out = xr.Dataset(data, attrs=ds.attrs)
    used = {d for v in out.data_vars.values() for d in v.dims}
    unused = [c for c in out.coords if c in mapping and c not in used]
    return out.drop_vars(unused)


def public(ds: xr.Dataset) -> xr.Dataset:
    """The analyst's form: datetime months, shipments over exporter and importer."""
    out = _renamed(ds, "shipments", _PUBLIC)
    if "month" in out.coords and not np.issubdtype(out["month"].dtype, np.datetime64):
        out = out.assign_coords(month=month_times(out["month"].values))
    return out


def internal(ds: xr.Dataset) -> xr.Dataset:
    """rareflow's own form ('YYYY-MM' months, shipments over region and partner); a dataset
    already in it comes back unchanged."""
    out = _renamed(ds, "shipments", _INTERNAL)
    if "month" in out.coords and np.issubdtype(out["month"].dtype, np.datetime64):
        out = out.assign_coords(month=month_text(out["month"].values))
    return out
