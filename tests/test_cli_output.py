"""Output written for people: progress on stderr, units, tables that fit 80 columns."""

from __future__ import annotations

import pytest

from rareflow.cli.output import working


def test_a_long_step_says_so_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    with working("backtesting (about 25 s)"):
        print("result")
    out, err = capsys.readouterr()
    assert out == "result\n" and "backtesting (about 25 s)" in err


def test_numbers_carry_units_people_read() -> None:
    from rareflow.cli.output import count, percent, tonnes, usd

    assert tonnes(381_000) == "381 kt" and tonnes(950) == "950 t" and tonnes(12.5) == "12.5 t"
    assert tonnes(1.2e6) == "1.20 Mt" and tonnes(float("nan")) == "-"
    assert usd(1.189e11) == "$119bn" and usd(4.5e6) == "$4.50m" and usd(-2e9) == "-$2.00bn"
    assert (
        percent(0.123) == "12%"
        and percent(0.05) == "5.0%"
        and percent(0.0004) == "0.04%"
        and percent(1e-18) == "0%"
    )
    assert percent(0.0) == "0%" and count(12_345) == "12.3k" and count(950) == "950"


def wide_frame(columns: int) -> object:
    import pandas as pd

    return pd.DataFrame(
        {f"column number {i}": [f"value-{i}-xxxxxxxx", "y"] for i in range(columns)}
    )


@pytest.mark.parametrize("width", [80, 120])
def test_tables_fit_the_terminal(
    width: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from rareflow.cli.output import print_table

    monkeypatch.setenv("COLUMNS", str(width))
    print_table(wide_frame(4), title="fits")  # 4 columns of ~19: fits in 80 and 120
    out = capsys.readouterr().out
    assert max(map(len, out.splitlines())) <= width and "…" not in out
    assert "value-3-xxxxxxxx" in out and "left out" not in out
    print_table(wide_frame(5), title="too wide")  # 5 columns: the last left out at 80
    out = capsys.readouterr().out
    assert max(map(len, out.splitlines())) <= width and "…" not in out
    assert ("left out at this width: column number 4" in out) == (width == 80)
    print_table(wide_frame(20), title="blocks")  # far too wide: one block per row
    out = capsys.readouterr().out
    assert max(map(len, out.splitlines())) <= width
    assert "─ value-0-xxxxxxxx" in out and "column number 19  value-19-xxxxxxxx" in out


def test_units_are_read_off_column_names() -> None:
    from rareflow.cli.output import percent, tonnes, unit_formats, usd

    formats = unit_formats(["top1_share", "tonnes", "value_lost_usd", "usd_per_kg", "hhi"])
    assert formats == {"top1_share": percent, "tonnes": tonnes, "value_lost_usd": usd}
