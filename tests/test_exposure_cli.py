"""``rareflow exposure``: output formats, and bad BOMs exit 2 naming the row and column."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from rareflow.analytics.bom import EXAMPLE

GOOD = [
    "product,part,quantity_per_unit,unit,part_type,supplier_country,inventory_months",
    "motor,rotor,2,kg,ndfeb_sintered,CHN,3",
    "phone,vibrator,0.5,g,ndfeb_bonded,VNM,2",
]


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "1000")


def cli(args: list[str]) -> int:
    """``rareflow ARGS`` with the exposure command registered (until main.py wires it)."""
    from rareflow.cli import exposure, main

    main._register()
    if not any(c.name == "exposure" for c in main.app.registered_commands):
        exposure.register(main.app)
    return main.cli(args)


def write(tmp_path: Path, lines: list[str], name: str = "bom.csv") -> str:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def test_example_json_most_exposed_first(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["exposure", "example", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["caught_by"] != "none"
    keys = {"product", "controlled_elements", "caught_by", "months_of_cover", "first_shortage"}
    assert keys | {"share_at_risk", "alternatives"} <= set(rows[0])
    assert 0.0 <= rows[0]["share_at_risk"] <= 1.0


def test_json_holds_data_not_prose(capsys: pytest.CaptureFixture[str]) -> None:
    """first_shortage a month or null; alternatives a list of objects; contents as numbers."""
    import re

    assert cli(["exposure", "example", "--by", "part", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    for row in rows:
        month = row["first_shortage"]
        assert month is None or re.fullmatch(r"\d{4}-\d{2}", month), month
        assert isinstance(row["caught_by"], list)
        assert all(isinstance(v, float) for v in row["controlled_content"].values())
        alternatives = row["alternatives"]
        assert alternatives is None or isinstance(alternatives, list)
        for alt in alternatives or []:
            assert set(alt) == {"region", "spare_t_per_year", "times_need"}
            assert isinstance(alt["spare_t_per_year"], float)
    assert any(r["alternatives"] for r in rows) and any(r["caught_by"] for r in rows)
    assert cli(["exposure", "example", "--format", "csv"]) == 0
    assert "none by" not in capsys.readouterr().out


def test_table_parts_and_schema(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert cli(["exposure", write(tmp_path, GOOD), "--by", "part", "--region", "DEU"]) == 0
    out = capsys.readouterr().out
    assert "april-2025-licence" in out and "%" in out
    assert cli(["exposure", "--schema", "--format", "csv"]) == 0
    schema = capsys.readouterr().out
    assert "quantity_per_unit" in schema and "content_<El>" in schema


def test_excel_bom(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "bom.xlsx"
    pd.read_csv(EXAMPLE, dtype=str, keep_default_na=False).to_excel(path, index=False)
    assert cli(["exposure", str(path), "--format", "json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) >= 4


def test_bad_excel_cell_names_row_and_column(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    frame = pd.read_csv(EXAMPLE, dtype=str, keep_default_na=False)
    frame.loc[2, "inventory_months"] = "lots"
    frame.to_excel(tmp_path / "bad.xlsx", index=False)
    assert cli(["exposure", str(tmp_path / "bad.xlsx")]) == 2
    err = capsys.readouterr().err
    assert "row 4" in err and "column 'inventory_months'" in err and "'lots'" in err


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda ls: [ls[0] + ",supplier", *(row + ",x" for row in ls[1:])], ["row 1", "'supplier'"]),
        (lambda ls: [ls[0], ls[1], ls[2].replace(",0.5,", ",-0.5,")], ["row 3", "'quantity_per_unit'", "at least 0"]),
        (lambda ls: [ls[0], ls[1].replace(",CHN,", ",XXX,"), ls[2]], ["row 2", "'supplier_country'", "'XXX'"]),
        (lambda ls: [ls[0], ls[1].replace(",kg,", ",lb,"), ls[2]], ["row 2", "'unit'", "kg, g"]),
        (lambda ls: [ls[0], ls[1].replace("ndfeb_sintered", "ndfeb"), ls[2]], ["row 2", "'part_type'"]),
        (lambda ls: [ls[0], ls[1].replace("ndfeb_sintered", "custom"), ls[2]], ["row 2", "content_"]),
        (lambda ls: [ls[0], ls[1], ls[1]], ["row 3", "duplicate part"]),
        (lambda ls: [ls[0].replace(",inventory_months", ""), *(row.rsplit(",", 1)[0] for row in ls[1:])], ["missing column", "'inventory_months'"]),
        (lambda ls: [ls[0]], ["row 2", "no parts"]),
    ],
    ids=["unknown-column", "negative-quantity", "unknown-country", "bad-unit", "unknown-part-type",
         "custom-without-contents", "duplicate", "missing-column", "header-only"],
)  # fmt: skip
def test_bad_bom_exits_2_naming_row_and_column(
    edit: Callable[[list[str]], list[str]],
    expected: list[str],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    assert cli(["exposure", write(tmp_path, edit(list(GOOD)))]) == 2
    err = capsys.readouterr().err
    assert "bom.csv" in err
    for text in expected:
        assert text in err


def test_empty_and_missing_files_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert cli(["exposure", str(empty)]) == 2
    assert "empty" in capsys.readouterr().err
    assert cli(["exposure", str(tmp_path / "nope.csv")]) == 2
    assert cli(["exposure", write(tmp_path, GOOD, "bom.txt")]) == 2
    assert cli(["exposure"]) == 2
    assert "example" in capsys.readouterr().err
    assert cli(["exposure", "example", "--region", "Atlantis"]) == 2
