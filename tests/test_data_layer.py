"""The dataset layer: loading, labelled views, validation errors, provenance, CLI data commands."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rareflow
from rareflow.cli.main import cli
from rareflow.data.network import BASELINE_DIR, Network, load_network
from rareflow.data.provenance import provenance_counts
from rareflow.data.schema import TABLES
from rareflow.data.validate import balance
from rareflow.errors import DataValidationError

REQUIRED_REGIONS = {
    "CHN", "USA", "JPN", "KOR", "DEU", "XEU", "VNM", "IND",
    "MEX", "MYS", "AUS", "MMR", "THA", "GBR", "ROW",
}  # fmt: skip
OXIDES = {"ndpr", "dy", "tb", "sm", "y", "gd", "lu", "sc", "ho", "er", "tm", "eu", "yb", "lace"}


@pytest.fixture(scope="module")
def net() -> Network:
    return rareflow.load_baseline()


@pytest.fixture
def user_dir(tmp_path: Path) -> Path:
    """The bundled baseline copied as a user's own dataset."""
    target = tmp_path / "mydata"
    shutil.copytree(BASELINE_DIR, target)
    return target


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli(args)
    out, err = capsys.readouterr()
    return code, out, err


# -- the network ------------------------------------------------------------------------------
def test_dimensions_cover_the_chain(net) -> None:
    assert set(net.regions) >= REQUIRED_REGIONS
    assert len(net.products) >= 20
    assert {f"{o}_oxide" for o in OXIDES} <= set(net.products)
    assert {"ndfeb_sintered", "ndfeb_bonded", "smco"} <= set(net.products)
    assert len(net.elements) == 17
    assert {"ev_traction", "wind", "electronics", "industrial_motors", "defence"} <= set(
        net.sectors
    )
    stages = set(net.tables["products"]["stage"])
    assert stages == {"mining", "separation", "metal", "magnet"}


def test_every_table_is_loaded_with_declared_types(net) -> None:
    for name, schema in TABLES.items():
        frame = net.tables[name]
        for col in schema.all_columns:
            assert col.name in frame.columns, (name, col.name)
            if col.dtype == "float":
                assert frame[col.name].dtype.kind == "f", (name, col.name)


def test_labelled_arrays(net) -> None:
    trade = net.array("trade")
    assert set(trade.dims) == {"product", "exporter", "importer", "year"}
    assert trade.attrs["unit"] == "t/yr"
    assert float(trade.sum()) > 0
    contents = net.array("contents")
    assert float(contents.max()) <= 1.0
    dataset = net.to_dataset()
    assert {"production", "trade", "demand", "contents"} <= set(dataset.data_vars)


def test_country_mapping_is_user_changeable(user_dir: Path) -> None:
    mapping = pd.read_csv(user_dir / "country_regions.csv", dtype=str, keep_default_na=False)
    assert {"iso3", "country", "region"} <= set(mapping.columns)
    # regroup one country and the dataset still loads
    mapping.loc[mapping["iso3"] == "FRA", "region"] = "ROW"
    mapping.to_csv(user_dir / "country_regions.csv", index=False)
    regrouped = load_network(user_dir)
    frame = regrouped.tables["country_regions"]
    assert set(frame.loc[frame["iso3"] == "FRA", "region"]) <= {"ROW"}


def test_bundled_baseline_balances_and_is_sourced(net) -> None:
    report = balance(net)
    assert report.max_relative_imbalance <= 1e-3, report.worst(5)
    counts = provenance_counts(net)
    assert counts["unsourced"] == 0
    assert counts["values"] == counts["sourced"] + counts["derived"] + counts["assumptions"]
    assert counts["sourced"] > 0


# -- bad input ---------------------------------------------------------------------------------
def _edit(path: Path, change) -> None:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame = change(frame)
    frame.to_csv(path, index=False)


def _expect_bad(user_dir: Path, capsys, *fragments: str) -> str:
    code, out, err = run_cli(["data", "check", "--data", str(user_dir)], capsys)
    assert code == 2, (out, err)
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    return err


def test_missing_column(user_dir: Path, capsys) -> None:
    _edit(user_dir / "capacities.csv", lambda f: f.drop(columns=["tonnes_per_year"]))
    _expect_bad(user_dir, capsys, "capacities.csv", "tonnes_per_year", "missing column")


def test_wrong_unit_column_is_named(user_dir: Path, capsys) -> None:
    _edit(
        user_dir / "capacities.csv",
        lambda f: f.rename(columns={"tonnes_per_year": "kg_per_year"}),
    )
    _expect_bad(user_dir, capsys, "'kg_per_year'", "t/yr")


def test_unknown_region(user_dir: Path, capsys) -> None:
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[0, "region"] = "ATLANTIS"
        return frame

    _edit(user_dir / "capacities.csv", change)
    _expect_bad(user_dir, capsys, "capacities.csv", "row 2", "'region'", "ATLANTIS")


def test_negative_capacity(user_dir: Path, capsys) -> None:
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[2, "tonnes_per_year"] = "-5"
        return frame

    _edit(user_dir / "capacities.csv", change)
    _expect_bad(user_dir, capsys, "capacities.csv", "row 4", "tonnes_per_year", "at least 0")


def test_contents_over_one(user_dir: Path, capsys) -> None:
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        first = frame["product"] == frame.loc[0, "product"]
        assert first.sum() >= 3  # so that 0.5 each sums past 1
        frame.loc[first, "mass_fraction"] = "0.5"
        return frame

    _edit(user_dir / "contents.csv", change)
    _expect_bad(user_dir, capsys, "contents.csv", "sum to", "at most 1")


def test_not_a_number(user_dir: Path, capsys) -> None:
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[0, "usd_per_kg"] = "cheap"
        return frame

    _edit(user_dir / "prices.csv", change)
    _expect_bad(user_dir, capsys, "prices.csv", "row 2", "usd_per_kg", "cheap", "a number")


def test_empty_file(user_dir: Path, capsys) -> None:
    (user_dir / "demand.csv").write_text("")
    _expect_bad(user_dir, capsys, "demand.csv", "empty")


def test_non_utf8_file(user_dir: Path, capsys) -> None:
    raw = (user_dir / "regions.csv").read_bytes()
    (user_dir / "regions.csv").write_bytes(raw.replace(b"Rest", b"R\xe9st", 1) + b"\xff\n")
    _expect_bad(user_dir, capsys, "regions.csv", "not UTF-8")


def test_missing_table(user_dir: Path, capsys) -> None:
    (user_dir / "trade.csv").unlink()
    _expect_bad(user_dir, capsys, "trade", "missing")


def test_sourced_value_without_url(user_dir: Path, capsys) -> None:
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        index = frame.index[frame["provenance"] == "sourced"][0]
        frame.loc[index, "source_url"] = ""
        return frame

    _edit(user_dir / "production.csv", change)
    _expect_bad(user_dir, capsys, "production.csv", "source_url")


def test_missing_directory(tmp_path: Path, capsys) -> None:
    code, _, err = run_cli(["data", "check", "--data", str(tmp_path / "nope")], capsys)
    assert code == 2
    assert "not found" in err


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(row=st.integers(min_value=0, max_value=10_000), value=st.floats(max_value=-1e-6))
def test_any_negative_quantity_is_reported_at_its_row(tmp_path_factory, row: int, value: float):
    directory = tmp_path_factory.mktemp("neg")
    shutil.copytree(BASELINE_DIR, directory, dirs_exist_ok=True)
    frame = pd.read_csv(directory / "trade.csv", dtype=str, keep_default_na=False)
    row = row % len(frame)
    frame.loc[row, "tonnes_per_year"] = repr(value)
    frame.to_csv(directory / "trade.csv", index=False)
    with pytest.raises(DataValidationError) as info:
        load_network(directory)
    lines = {(p.file, p.row, p.column) for p in info.value.problems}
    assert (str(directory / "trade.csv"), row + 2, "tonnes_per_year") in lines


# -- the commands ------------------------------------------------------------------------------
def test_check_json(capsys) -> None:
    code, out, _ = run_cli(["data", "check", "--format", "json"], capsys)
    payload = json.loads(out)
    assert code == 0
    assert payload["ok"] is True
    for key in ("max_relative_imbalance", "values", "sourced", "derived", "assumptions"):
        assert key in payload
    assert payload["unsourced"] == 0


def test_check_fails_with_exit_1_on_imbalance(user_dir: Path, capsys) -> None:
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        biggest = pd.to_numeric(frame["tonnes_per_year"]).idxmax()
        frame.loc[biggest, "tonnes_per_year"] = str(
            float(frame.loc[biggest, "tonnes_per_year"]) * 3
        )
        return frame

    _edit(user_dir / "trade.csv", change)
    code, out, _ = run_cli(["data", "check", "--data", str(user_dir), "--format", "json"], capsys)
    assert code == 1
    payload = json.loads(out)
    assert payload["ok"] is False
    assert payload["max_relative_imbalance"] > 1e-3
    assert payload["worst_nodes"]


def test_shares_json_is_fractions_summing_to_one(capsys) -> None:
    for stage in ("mining", "separation", "heavy_separation", "metal", "magnet"):
        code, out, _ = run_cli(["data", "shares", "--stage", stage, "--format", "json"], capsys)
        assert code == 0
        rows = json.loads(out)
        assert {"region", "share"} <= set(rows[0])
        assert sum(r["share"] for r in rows) == pytest.approx(1.0)
        assert rows[0]["share"] >= rows[-1]["share"]


def test_shares_csv_and_bad_stage(capsys) -> None:
    code, out, _ = run_cli(["data", "shares", "--stage", "mining", "--format", "csv"], capsys)
    assert code == 0
    assert out.splitlines()[0].startswith("region")
    code, _, err = run_cli(["data", "shares", "--stage", "smelting"], capsys)
    assert code == 2
    assert "smelting" in err


def test_sources_filter(capsys) -> None:
    code, out, _ = run_cli(
        ["data", "sources", "--table", "trade", "--product", "ndfeb_sintered", "--format", "json"],
        capsys,
    )
    assert code == 0
    rows = json.loads(out)
    assert rows and {r["table"] for r in rows} == {"trade"}
    assert all("product=ndfeb_sintered" in r["key"] for r in rows)
    assert all(r["provenance"] in ("sourced", "derived", "assumption") for r in rows)
    assert all(r["note"] for r in rows)


@pytest.mark.parametrize("file_format", ["csv", "parquet"])
def test_export_and_run_on_own_data(tmp_path: Path, capsys, file_format: str) -> None:
    target = tmp_path / "export"
    code, _, _ = run_cli(["data", "export", str(target), "--file-format", file_format], capsys)
    assert code == 0
    assert (target / f"trade.{file_format}").exists()
    code, out, _ = run_cli(["data", "check", "--data", str(target), "--format", "json"], capsys)
    assert code == 0, out
    assert json.loads(out)["ok"] is True
    code, out, _ = run_cli(
        ["data", "shares", "--stage", "magnet", "--data", str(target), "--format", "json"], capsys
    )
    assert code == 0
    assert json.loads(out)[0]["region"] == "CHN"


def test_schema_command_lists_units(capsys) -> None:
    code, out, _ = run_cli(["data", "schema", "--table", "trade", "--format", "json"], capsys)
    assert code == 0
    rows = json.loads(out)
    assert {r["column"] for r in rows} >= {"exporter", "importer", "tonnes_per_year"}
    assert next(r for r in rows if r["column"] == "tonnes_per_year")["unit"] == "t/yr"
