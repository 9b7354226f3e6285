"""``rareflow hindcast``: the 2010-2011 episode's prices stated before the held-out prices are
seen, and scored against them when they come."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rareflow.cli.main import cli
from rareflow.errors import UserInputError
from rareflow.history.hindcast import (
    DECAY_AT,
    EPISODE,
    Hindcast,
    hindcast,
    observed_multiples,
    product_of,
    read_prices,
)
from rareflow.history.observed import calibration_dir
from rareflow.history.quota_fill import observed_fill

pytestmark = pytest.mark.skipif(
    not (calibration_dir() / "crisis_2010_inputs.csv").exists(),
    reason="../shared/data/calibration absent",
)
BASE_USD = 100.0  # a synthetic level: the scores read multiples only


@pytest.fixture(scope="module")
def stated() -> Hindcast:
    return hindcast(until="2014-12")


def _write(path: Path, rows: list[tuple[str, str, str, float]]) -> Path:
    frame = pd.DataFrame(rows, columns=["date", "product", "market", "value"])
    frame.assign(unit="USD/kg").to_csv(path, index=False)
    return path


def _own_path(stated: Hindcast, product: str, market: str) -> pd.Series:
    part = stated.paths[(stated.paths["product"] == product) & (stated.paths["market"] == market)]
    return part.set_index("month")["modelled_multiple"]


def test_the_summary_states_each_peak_and_what_is_left_of_it(stated: Hindcast) -> None:
    summary = stated.summary.set_index(["product", "market"])
    assert {("dy_oxide", "ex_china"), ("ndpr_oxide", "china"), ("lace_oxide", "ex_china")} <= set(
        summary.index
    )
    dy = summary.loc[("dy_oxide", "ex_china")]
    # the quota cut lifts the ex-China price above China's, which loses its export outlet
    assert dy["peak_multiple"] > 2.0 > summary.loc[("dy_oxide", "china"), "peak_multiple"]
    assert 0.0 < dy[f"share_of_peak_{DECAY_AT}"] <= 1.0
    assert summary["peak_month"].between("2010-01", "2014-12").all()
    assert stated.scores.empty and stated.paths["month"].max() == "2014-12"


def test_the_models_own_path_scores_perfectly(stated: Hindcast, tmp_path: Path) -> None:
    own = _own_path(stated, "dy_oxide", "ex_china")
    rows = [("2009-12-15", "Dy oxide FOB China", "ex_china", BASE_USD)]
    rows += [(m, "Dy oxide FOB China", "ex_china", BASE_USD * v) for m, v in own.items()
             if m >= EPISODE]  # fmt: skip
    result = hindcast(until="2014-12", observed_path=_write(tmp_path / "own.csv", rows))
    dy = result.scores.set_index(["product", "market"]).loc[("dy_oxide", "ex_china")]
    assert dy["peak_month_error_months"] == 0 and dy["peak_multiple_ratio"] == pytest.approx(1)
    assert dy["rmse_log"] == pytest.approx(0, abs=1e-12)
    assert dy["naive_rmse_log"] > 0.5  # the quota moved the price
    assert dy["observed_share_of_peak"] == pytest.approx(dy["modelled_share_of_peak"])
    assert bool(dy["beats_naive"])


def test_flat_prices_make_no_change_the_better_forecast(tmp_path: Path) -> None:
    months = [str(p) for p in pd.period_range("2010-01", "2013-12", freq="M")]
    rows = [(m, "Nd oxide", "ex_china", BASE_USD) for m in months]
    result = hindcast(until="2013-12", observed_path=_write(tmp_path / "flat.csv", rows))
    nd = result.scores.set_index(["product", "market"]).loc[("ndpr_oxide", "ex_china")]
    assert nd["naive_rmse_log"] == 0 < nd["rmse_log"] and not bool(nd["beats_naive"])
    assert nd["observed_peak_multiple"] == 1.0


def test_left_out_products_and_late_bases_are_said(tmp_path: Path) -> None:
    rows = [("2010-02", "Pr oxide", "ex_china", 1.0), ("2011-03", "Tb oxide", "china", 7.0),
            ("2011-09", "Tb oxide", "china", 14.0)]  # fmt: skip
    result = hindcast(until="2012-12", observed_path=_write(tmp_path / "late.csv", rows))
    text = " ".join(result.notes)
    assert "left out: Pr oxide" in text and "its base is its first, 2011-03" in text
    tb = result.paths.dropna(subset=["observed_multiple"])
    assert list(tb["observed_multiple"]) == [1.0, 2.0]


def test_the_base_is_before_2010_else_before_july_2010_else_the_first_quote() -> None:
    def quotes(months: list[str], values: list[float], name: str) -> pd.DataFrame:
        return pd.DataFrame({"series": name, "printed": "Dy oxide", "product": "dy_oxide",
                             "market": "ex_china", "month": months, "value": values})  # fmt: skip

    early = quotes(["2009-11", "2009-12", "2010-03", "2011-06"], [90.0, 110.0, 150.0, 500.0], "a")
    multiples, notes = observed_multiples(early)
    assert list(multiples["observed_multiple"]) == [0.9, 1.1, 1.5, 5.0] and notes == []
    mid = quotes(["2010-02", "2010-04", "2011-06"], [100.0, 140.0, 480.0], "b")
    multiples, notes = observed_multiples(mid)
    assert multiples["observed_multiple"].iloc[-1] == pytest.approx(4.0)
    assert "b: no quote before 2010-01; its base is the median of those before 2010-07" in notes


@pytest.mark.parametrize(
    ("printed", "code"),
    [("Nd oxide FOB China", "ndpr_oxide"), ("PrNd oxide 75:25", "ndpr_oxide"),
     ("Dy oxide 99.5%", "dy_oxide"), ("Dy metal", "dy_metal"), ("Ce oxide", "lace_oxide"),
     ("Neodymium metal", "ndpr_metal"), ("tb_oxide", "tb_oxide"), ("Pr oxide", None),
     ("Holmium oxide", None)],
)  # fmt: skip
def test_printed_names_map_to_model_products(printed: str, code: str | None) -> None:
    assert product_of(printed) == code


@settings(max_examples=25, deadline=None)
@given(
    prices=st.lists(st.floats(0.5, 5000.0), min_size=3, max_size=12),
    scale=st.floats(1e-3, 1e4),
)
def test_multiples_do_not_depend_on_the_unit(prices: list[float], scale: float) -> None:
    months = [str(p) for p in pd.period_range("2010-01", periods=len(prices), freq="M")]

    def quotes(factor: float) -> pd.DataFrame:
        return pd.DataFrame({"series": "Dy oxide | ex_china | x", "printed": "Dy oxide",
                             "product": "dy_oxide", "market": "ex_china", "month": months,
                             "value": np.array(prices) * factor})  # fmt: skip

    one, _ = observed_multiples(quotes(1.0))
    other, _ = observed_multiples(quotes(scale))
    np.testing.assert_allclose(one["observed_multiple"], other["observed_multiple"], rtol=1e-9)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("date,product,value\n2010-01,Dy oxide,5\n", "column 'market'"),
        ("date,product,market,value\n2010-13,Dy oxide,ex_china,5\n", "row 2, column 'date'"),
        ("date,product,market,value\n2010-01,Dy oxide,europe,5\n", "row 2, column 'market'"),
        ("date,product,market,value\n2010-01,Dy oxide,ex_china,0\n", "row 2, column 'value'"),
        ("month,product,market,usd_per_kg\n2010-01,Dy oxide,china,x\n", "column 'usd_per_kg'"),
    ],
)
def test_bad_observed_prices_exit_2_naming_file_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, needle: str
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(UserInputError):  # the library raises; the CLI turns it into exit 2
        read_prices(bad)
    assert cli(["hindcast", "--until", "2011-06", "--observed", str(bad)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and needle in err


@pytest.mark.parametrize("until", ["2010-06", "2021-01", "soon"])
def test_until_outside_the_run_is_refused(capsys: pytest.CaptureFixture[str], until: str) -> None:
    assert cli(["hindcast", "--until", until]) == 2
    assert "--until" in capsys.readouterr().err


def test_cli_json_and_csv(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["hindcast", "--until", "2011-12", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["until"] == "2011-12" and out["scores"] == []
    assert {"product", "market", "peak_month", "peak_multiple"} <= set(out["summary"][0])
    assert cli(["hindcast", "--until", "2011-12", "--format", "csv", "--csv-table", "paths"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "month,product,market,modelled_multiple" and len(lines) > 24


def test_report_writes_an_offline_page_and_a_bad_file_keeps_the_old_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "hindcast.html"
    assert cli(["report", "hindcast", "--out", str(page), "--until", "2011-12"]) == 0
    text = page.read_text(encoding="utf-8")
    assert "Hindcast: the 2010-2011 episode" in text and "plotly" in text.lower()
    assert "dy_oxide" in text and "--observed FILE" in text
    bad = tmp_path / "bad.csv"
    bad.write_text("date,product,market,value\n2010-13,Dy oxide,ex_china,5\n", encoding="utf-8")
    assert cli(["report", "hindcast", "--out", str(page), "--observed", str(bad)]) == 2
    assert page.read_text(encoding="utf-8") == text  # the earlier page is intact
    assert "row 2, column 'date'" in capsys.readouterr().err


def test_the_quota_fill_sets_the_model_beside_every_sourced_figure(stated: Hindcast) -> None:
    """The model fills its binding quota every year; customs and the reported utilisation
    (in sample) say 2011-2013 were filled 52-73%: the check says so, figure by figure."""
    fill = stated.quota_fill.set_index("year")
    assert list(fill.index) == [2010, 2011, 2012, 2013]
    assert np.allclose(fill["modelled_exports_t"], fill["modelled_quota_t"], rtol=1e-6)
    assert fill.loc[2012, "observed_fill_low"] == pytest.approx(16_265 / 30_996)
    assert fill.loc[2012, "observed_fill_high"] == pytest.approx(0.72)
    assert "52% reported (asiatoday.com.au)" in fill.loc[2011, "observed_figures"]
    assert fill.loc[2010, "observed_fill_low"] > 1.3  # 2009 licences shipped in 2010
    assert any("2011 100% (52%-62%)" in note for note in stated.notes)


def test_observed_fill_reads_every_figure_of_a_year(tmp_path: Path) -> None:
    rows = [
        "series,element,year_or_date,value,unit,source_url,source_note",
        "export_quota_utilisation,REE (all),2011,50,percent of quota,https://www.a.org/x,",
        "export_actual,REE (all),2011,9000,t,https://b.com/y,",
        "export_quota_annual_total,REE (all),2011,10000,t,https://c.net/z,",
        "export_actual,REE (all),2011-01..2011-09,7000,t,https://d.com/p,partial year: left out",
        "export_quota_annual_total,REE (all),2012,10000,t,https://c.net/z,no exports: no year",
    ]
    path = tmp_path / "crisis.csv"
    path.write_text("\n".join(rows) + "\n")
    fill = observed_fill(path)
    assert fill["year"].tolist() == [2011]
    assert fill.loc[0, "observed_fill_low"] == pytest.approx(0.5)
    assert fill.loc[0, "observed_fill_high"] == pytest.approx(0.9)
    assert fill.loc[0, "observed_figures"] == (
        "50% reported (a.org); 9,000 t exported / 10,000 t quota (b.com)"
    )
