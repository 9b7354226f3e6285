"""The 2025 calibration tables: bundled unchanged, checked against their schemas, bad rows refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from rareflow.data.reference import REFERENCE_DIR
from rareflow.data.reference.tables import read_reference
from rareflow.data.schema import REFERENCE_TABLES
from rareflow.errors import EXIT_BAD_INPUT, DataValidationError, UserInputError

SHARED = Path(__file__).parents[1].parent / "shared" / "data" / "calibration"


@pytest.mark.parametrize("name", sorted(REFERENCE_TABLES))
def test_bundled_tables_validate_and_keep_their_sources(name: str) -> None:
    table = read_reference(name, REFERENCE_DIR)
    assert len(table) > 0
    assert table["source_url"].str.startswith("http").all()
    assert set(table["quality"]) <= {"sourced", "derived"}


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data/calibration absent")
@pytest.mark.parametrize("name", sorted(REFERENCE_TABLES))
def test_bundled_tables_are_unchanged_copies_of_the_shared_ones(name: str) -> None:
    bundled = (REFERENCE_DIR / f"{name}.csv").read_bytes()
    assert bundled == (SHARED / f"{name}.csv").read_bytes()


def test_numbers_are_typed_and_empty_optional_numbers_are_nan() -> None:
    table = read_reference("china_magnet_exports_by_destination", REFERENCE_DIR)
    us = table[(table["destination"] == "United States") & (table["month"] == "2025-01")]
    assert us["tonnes"].iloc[0] == 877.0
    assert table["yoy_change_pct"].isna().any()


def broken_copy(tmp_path: Path, name: str, row: int, column: str, value: str) -> Path:
    """A copy of the bundled table with one cell changed (row = line number in the file)."""
    frame = pd.read_csv(REFERENCE_DIR / f"{name}.csv", dtype=str, keep_default_na=False)
    frame.loc[row - 2, column] = value
    frame.to_csv(tmp_path / f"{name}.csv", index=False)
    return tmp_path


@pytest.mark.parametrize(
    ("name", "row", "column", "value", "message"),
    [
        ("china_magnet_exports_by_destination", 3, "tonnes", "lots", "not a number"),
        ("china_magnet_exports_by_destination", 4, "tonnes", "-5", "value out of range"),
        ("prices_2025_monthly", 5, "market", "europe", "value not allowed"),
        ("prices_2025_monthly", 6, "date", "25/06/2025", "not a date"),
        ("shortage_events_2025", 2, "sector", "automotive", "value not allowed"),
        ("licence_approvals_2025", 7, "quality", "guessed", "value not allowed"),
        ("inventory_cover_2025", 3, "source_url", "", "empty value"),
    ],
)
def test_a_bad_cell_names_file_row_column_and_value(
    tmp_path: Path, name: str, row: int, column: str, value: str, message: str
) -> None:
    folder = broken_copy(tmp_path, name, row, column, value)
    with pytest.raises(DataValidationError) as caught:
        read_reference(name, folder)
    error = caught.value
    assert error.exit_code == EXIT_BAD_INPUT
    assert (error.message, error.row, error.column) == (message, row, column)
    assert error.file is not None and error.file.endswith(f"{name}.csv")
    assert error.value == (value or None)


def test_a_missing_column_and_a_missing_file_are_refused(tmp_path: Path) -> None:
    name = "shortage_events_2025"
    frame = pd.read_csv(REFERENCE_DIR / f"{name}.csv", dtype=str, keep_default_na=False)
    frame.drop(columns=["country"]).to_csv(tmp_path / f"{name}.csv", index=False)
    with pytest.raises(DataValidationError, match="column 'country'"):
        read_reference(name, tmp_path)
    with pytest.raises(UserInputError, match="RAREFLOW_CALIBRATION_DIR"):
        read_reference("prices_2025_monthly", tmp_path)


def test_a_bad_by_destination_row_stops_the_backtest_with_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from rareflow.cli.main import cli

    shutil.copy(REFERENCE_DIR / "china_magnet_exports_monthly.csv", tmp_path)
    broken_copy(tmp_path, "china_magnet_exports_by_destination", 9, "tonnes", "n/a")
    monkeypatch.setenv("RAREFLOW_CALIBRATION_DIR", str(tmp_path))
    assert cli(["backtest", "--origins", "none", "--format", "json"]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "china_magnet_exports_by_destination.csv" in err and "row 9" in err and "n/a" in err


def test_approval_shares_are_fractions_with_their_dates() -> None:
    from rareflow.history.observed_reports import approval_shares

    shares = approval_shares(REFERENCE_DIR)
    clepa = shares[shares["date"] == "2025-06-04"].iloc[0]
    assert clepa["approval_share"] == pytest.approx(0.25)  # CLEPA: 25% granted by early June
    assert shares["approval_share"].between(0, 1).all()
    assert shares["month"].max() <= "2025-09"


def test_inventory_covers_are_weeks() -> None:
    from rareflow.history.observed_reports import cover_weeks, inventory_cover

    assert cover_weeks("2-3") == (2.0, 3.0)
    assert cover_weeks("<1") == (0.0, 1.0)
    assert cover_weeks("about a month") is None
    cover = inventory_cover(REFERENCE_DIR).set_index("holder")
    assert cover.loc["Indian auto-parts manufacturers (industry reports)", "weeks_high"] == (
        pytest.approx(3 / 7)  # 72 hours
    )
    assert cover.loc["Ola Electric", "weeks_low"] == pytest.approx(5 * 52 / 12)


def test_a_cover_that_is_not_a_number_is_refused_with_its_row(tmp_path: Path) -> None:
    from rareflow.history.observed_reports import inventory_cover

    folder = broken_copy(tmp_path, "inventory_cover_2025", 4, "cover_months_or_weeks", "a while")
    with pytest.raises(UserInputError) as caught:
        inventory_cover(folder)
    assert (caught.value.row, caught.value.column, caught.value.value) == (
        4,
        "cover_months_or_weeks",
        "a while",
    )
