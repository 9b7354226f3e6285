"""The network: the dataset's tables, validated, with labelled-array views.

``Network.tables`` holds one pandas DataFrame per schema table; ``Network.array(name)`` gives
an xarray DataArray over the table's key dimensions (e.g. ``trade`` as product x exporter x
importer x year). The engine does not read these; it reads ``rareflow.model.compile``'s arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from rareflow.data.schema import TABLES
from rareflow.errors import UserInputError

if TYPE_CHECKING:
    import xarray as xr

BASELINE_DIR = Path(__file__).parent / "baseline"
# Behavioural parameters fitted by `rareflow calibrate` (rareflow.history.calibrate).
CALIBRATED_FILE = Path(__file__).parent / "calibrated_parameters.csv"


@dataclass
class Network:
    """A validated dataset. Build with ``load_network`` or ``rareflow.load_baseline``."""

    tables: dict[str, pd.DataFrame]
    source: str = "bundled baseline"
    files: dict[str, str] = field(default_factory=dict)

    def __getattr__(self, name: str) -> pd.DataFrame:
        tables = self.__dict__.get("tables", {})
        if name in tables:
            return tables[name]
        raise AttributeError(name)

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self.tables))

    # -- dimensions -------------------------------------------------------------------------
    @cached_property
    def regions(self) -> list[str]:
        return list(self.tables["regions"]["region"])

    @cached_property
    def products(self) -> list[str]:
        return list(self.tables["products"]["product"])

    @cached_property
    def elements(self) -> list[str]:
        return list(self.tables["elements"]["element"])

    @cached_property
    def sectors(self) -> list[str]:
        return list(self.tables["sectors"]["sector"])

    @cached_property
    def processes(self) -> list[str]:
        return list(self.tables["processes"]["process"])

    @property
    def base_year(self) -> int:
        return int(self.parameter("base_year"))

    def parameter(self, name: str) -> float:
        params = self.tables["parameters"].set_index("name")["value"]
        if name not in params.index:
            raise KeyError(f"parameter {name!r} is not in the dataset's parameters table")
        return float(params[name])

    def stage_of(self, product: str) -> str:
        return str(self.tables["products"].set_index("product").at[product, "stage"])

    # -- labelled arrays --------------------------------------------------------------------
    def array(self, name: str, value: str | None = None) -> xr.DataArray:
        """The table ``name`` as a DataArray over its key columns (missing cells are 0)."""
        import xarray as xr

        schema = TABLES[name]
        value = value or schema.value_columns[0]
        frame = self.tables[name]
        dims = [c for c in schema.key]
        series = frame.groupby(dims)[value].sum()
        array = xr.DataArray.from_series(series).fillna(0.0)
        array.name = value
        array.attrs["unit"] = schema.column(value).unit
        array.attrs["description"] = schema.description
        return array

    def to_dataset(self, year: int | None = None) -> xr.Dataset:
        """The flow tables of one year as an xarray Dataset (tonnes per year)."""
        import xarray as xr

        year = year or self.base_year
        data = {}
        for name in ("production", "trade", "demand", "stock_changes", "capacities"):
            array = self.array(name)
            if "year" in array.dims and year in array["year"].values:
                data[name] = array.sel(year=year, drop=True)
        data["contents"] = self.array("contents")
        return xr.Dataset(data)


def region_lookup(network: Network) -> dict[str, str]:
    """ISO3 country codes (the ``country_regions`` table) and region codes -> region code."""
    lookup: dict[str, str] = {}
    table = network.tables.get("country_regions")
    if table is not None:
        lookup = dict(zip(table["iso3"].astype(str), table["region"].astype(str), strict=True))
    lookup.update({r: r for r in network.regions})
    return lookup


def load_network(
    data_dir: str | Path | None = None,
    *,
    validate: bool = True,
    calibrated: bool = True,
    balanced: bool = True,
) -> Network:
    """Read a dataset directory (CSV or Parquet per table) and validate it.

    The bundled baseline carries the calibrated behavioural parameters unless
    ``calibrated=False`` (calibration itself starts from the curated priors).
    A user's dataset must also balance (``check_balance``) unless ``balanced=False``
    (``rareflow data check`` reports the balance itself).
    """
    from rareflow.data.io import read_tables
    from rareflow.data.validate import validate_network

    directory = Path(data_dir) if data_dir is not None else BASELINE_DIR
    tables, files = read_tables(directory)
    if data_dir is None and calibrated:
        tables["parameters"] = with_calibration(tables["parameters"])
    label = "bundled baseline" if data_dir is None else str(directory)
    network = Network(tables=tables, source=label, files=files)
    if validate:
        validate_network(network)
        if balanced and data_dir is not None:  # the bundled baseline: by its build and tests
            check_balance(network, directory)
    return network


def check_balance(network: Network, directory: Path) -> None:
    """Refuse a dataset whose nodes do not balance (``rareflow data check`` lists them all):
    the engine holds mass balance every month and cannot start from a table that breaks it."""
    from rareflow.data.validate import BALANCE_TOLERANCE, balance

    report = balance(network)
    if not report.ok:
        worst = report.worst(1).iloc[0]
        raise UserInputError(
            f"the dataset does not balance: {worst['region']} {worst['product']} in "
            f"{int(worst['year'])} is off by {100 * worst['relative_imbalance']:.1f}% of its "
            "throughput (production + imports = process use + final use + exports + stock change)",
            file=str(directory),
            expected=f"every node within {100 * BALANCE_TOLERANCE:g}%",
            hint=f"`rareflow data check --data {directory}` lists every node",
        )


def with_calibration(parameters: pd.DataFrame, path: Path | None = None) -> pd.DataFrame:
    """The parameters table with calibrated values in place of the curated ones.

    A calibrated row keeps its provenance in the table: ``derived``, with the calibration's
    window, objective and date as its note. A user's own dataset is used as it is (its export,
    ``rareflow data export``, already carries the calibrated values).
    """
    path = path or CALIBRATED_FILE  # looked up per call: a comparison of points may swap it
    if not path.exists():
        return parameters
    fitted = pd.read_csv(path, dtype=str, keep_default_na=False)
    rows = fitted.assign(provenance="derived", source_url="", description="")
    rows["description"] = (
        rows["name"]
        .map(parameters.set_index("name")["description"].to_dict())
        .fillna("calibrated behavioural parameter")
    )
    kept = parameters[~parameters["name"].isin(rows["name"])]
    return pd.concat([kept, rows[list(parameters.columns)]], ignore_index=True)


def load_baseline(data_dir: str | Path | None = None) -> Network:
    """The bundled baseline (or a user's dataset in the same schema), validated."""
    return load_network(data_dir)
