"""Stage shares and concentration from a small in-memory Network (hand-computed values)."""

from __future__ import annotations

import contextlib
import io
import json

import pandas as pd
import pytest
import typer

from rareflow.analytics.shares import concentration, stage_shares
from rareflow.data.network import Network
from rareflow.errors import UserInputError

YEAR = 2024


def _frame(columns: str, rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns.split())


def small_network() -> Network:
    """Seven regions, three elements; numbers chosen so every share is easy by hand.

    mining activity: CHN 600, USA 200, AUS 100 (light), MMR 100 (ionic)
    separation: CHN 800 light + 100 ionic, XEU 100 light
    metal: CHN 150, JPN 50; magnet: CHN 400, JPN 100
    """
    tables = {
        "regions": _frame(
            "region name kind",
            [(r, r, "country") for r in ("CHN", "USA", "AUS", "MMR", "JPN", "DEU")]
            + [("XEU", "rest of EU", "group")],
        ),
        "elements": _frame(
            "element name atomic_number group",
            [
                ("La", "Lanthanum", 57, "light"),
                ("Nd", "Neodymium", 60, "light"),
                ("Dy", "Dysprosium", 66, "heavy"),
            ],
        ),
        "products": _frame(
            "product name stage basis",
            [
                ("concentrate_light", "c", "mining", "t REO"),
                ("concentrate_ionic", "c", "mining", "t REO"),
                ("ndpr_oxide", "o", "separation", "t product"),
                ("lace_oxide", "o", "separation", "t product"),
                ("dy_oxide", "o", "separation", "t product"),
                ("ndpr_metal", "m", "metal", "t product"),
                ("ndfeb_sintered", "s", "magnet", "t product"),
            ],
        ),
        "processes": _frame(
            "process name stage activity_unit",
            [
                ("mine_light", "m", "mining", "t REO"),
                ("mine_ionic", "m", "mining", "t REO"),
                ("separate_light", "s", "separation", "t REO"),
                ("separate_ionic", "s", "separation", "t REO"),
                ("reduce_ndpr", "r", "metal", "t"),
                ("make_sintered", "k", "magnet", "t"),
            ],
        ),
        "recipes": _frame(
            "process product role tonnes_per_tonne_activity",
            [
                ("mine_light", "concentrate_light", "output", 1.0),
                ("mine_ionic", "concentrate_ionic", "output", 1.0),
                ("separate_light", "concentrate_light", "input", 1.0),
                ("separate_light", "ndpr_oxide", "output", 0.2),
                ("separate_light", "lace_oxide", "output", 0.7),
                ("separate_ionic", "concentrate_ionic", "input", 1.0),
                ("separate_ionic", "ndpr_oxide", "output", 0.2),
                ("separate_ionic", "dy_oxide", "output", 0.1),
                ("reduce_ndpr", "ndpr_oxide", "input", 1.2),
                ("reduce_ndpr", "ndpr_metal", "output", 1.0),
                ("make_sintered", "ndpr_metal", "input", 0.3),
                ("make_sintered", "ndfeb_sintered", "output", 1.0),
            ],
        ),
        "contents": _frame(
            "product element mass_fraction",
            [
                ("concentrate_light", "Nd", 0.15),
                ("concentrate_light", "La", 0.30),
                ("concentrate_ionic", "Nd", 0.10),
                ("concentrate_ionic", "Dy", 0.05),
                ("ndpr_oxide", "Nd", 0.60),
                ("lace_oxide", "La", 0.40),
                ("dy_oxide", "Dy", 0.85),
                ("ndpr_metal", "Nd", 0.75),
                ("ndfeb_sintered", "Nd", 0.28),
            ],
        ),
        "production": _frame(
            "region process year tonnes_per_year",
            [
                ("CHN", "mine_light", YEAR, 600.0),
                ("USA", "mine_light", YEAR, 200.0),
                ("AUS", "mine_light", YEAR, 100.0),
                ("MMR", "mine_ionic", YEAR, 100.0),
                ("CHN", "separate_light", YEAR, 800.0),
                ("CHN", "separate_ionic", YEAR, 100.0),
                ("XEU", "separate_light", YEAR, 100.0),
                ("CHN", "reduce_ndpr", YEAR, 150.0),
                ("JPN", "reduce_ndpr", YEAR, 50.0),
                ("CHN", "make_sintered", YEAR, 400.0),
                ("JPN", "make_sintered", YEAR, 100.0),
                ("CHN", "mine_light", YEAR - 1, 100.0),
            ],
        ),
        "trade": _frame(
            "product exporter importer year tonnes_per_year",
            [
                ("concentrate_light", "AUS", "XEU", YEAR, 100.0),
                ("concentrate_light", "USA", "CHN", YEAR, 200.0),
                ("ndpr_oxide", "CHN", "XEU", YEAR, 30.0),
                ("ndpr_oxide", "CHN", "DEU", YEAR, 10.0),
                ("lace_oxide", "XEU", "USA", YEAR, 10.0),
            ],
        ),
        "parameters": _frame(
            "name value unit description", [("base_year", float(YEAR), "year", "base year")]
        ),
    }
    return Network(tables=tables, source="test")


@pytest.fixture
def net() -> Network:
    return small_network()


def test_mining_shares_by_hand(net: Network) -> None:
    frame = stage_shares(net, "mining")
    assert list(frame.columns) == ["region", "share", "tonnes"]
    assert list(frame["region"]) == ["CHN", "USA", "AUS", "MMR"]  # descending, ties by name
    assert list(frame["share"]) == pytest.approx([0.6, 0.2, 0.1, 0.1])
    assert frame["tonnes"].sum() == pytest.approx(1000.0)


def test_other_stages_by_hand(net: Network) -> None:
    sep = stage_shares(net, "separation").set_index("region")["share"]
    assert sep.to_dict() == pytest.approx({"CHN": 0.9, "XEU": 0.1})
    metal = stage_shares(net, "metal").set_index("region")["share"]
    assert metal.to_dict() == pytest.approx({"CHN": 0.75, "JPN": 0.25})
    magnet = stage_shares(net, "magnet").set_index("region")["share"]
    assert magnet.to_dict() == pytest.approx({"CHN": 0.8, "JPN": 0.2})


def test_heavy_separation_counts_heavy_element_content(net: Network) -> None:
    # only CHN runs separate_ionic: 100 t x 0.1 dy_oxide x 0.85 Dy = 8.5 t
    frame = stage_shares(net, "heavy_separation")
    assert list(frame["region"]) == ["CHN"]
    assert frame["tonnes"].iloc[0] == pytest.approx(8.5)
    assert frame["share"].iloc[0] == pytest.approx(1.0)


def test_element_shares_use_contents(net: Network) -> None:
    # Nd mined: CHN 600x0.15=90, USA 30, AUS 15, MMR 100x0.10=10; total 145
    frame = stage_shares(net, "mining", element="Nd").set_index("region")
    assert frame["tonnes"].to_dict() == pytest.approx(
        {"CHN": 90.0, "USA": 30.0, "AUS": 15.0, "MMR": 10.0}
    )
    assert frame.at["CHN", "share"] == pytest.approx(90 / 145)
    # Nd separated: CHN (800+100)x0.2x0.6=108, XEU 100x0.2x0.6=12
    sep = stage_shares(net, "separation", element="Nd").set_index("region")["tonnes"]
    assert sep.to_dict() == pytest.approx({"CHN": 108.0, "XEU": 12.0})


def test_year_selects_rows(net: Network) -> None:
    frame = stage_shares(net, "mining", year=YEAR - 1)
    assert list(frame["region"]) == ["CHN"]
    assert frame["tonnes"].iloc[0] == pytest.approx(100.0)


def test_concentration_table_by_hand(net: Network) -> None:
    frame = concentration(net).set_index("stage")
    assert list(frame.index) == ["mining", "separation", "heavy_separation", "metal", "magnet"]
    assert frame.at["mining", "hhi"] == pytest.approx(0.42)
    assert frame.at["separation", "hhi"] == pytest.approx(0.82)
    assert frame.at["heavy_separation", "hhi"] == pytest.approx(1.0)
    assert frame.at["metal", "hhi"] == pytest.approx(0.625)
    assert frame.at["mining", "top1_region"] == "CHN"
    assert frame.at["mining", "top3_share"] == pytest.approx(0.9)
    assert (frame["element"] == "all").all()


def test_concentration_for_an_element_skips_stages_without_it(net: Network) -> None:
    frame = concentration(net, element="La")
    assert list(frame["stage"]) == ["mining", "separation"]  # no La in metal or magnets
    # La separated: CHN 800x0.7x0.4=224, XEU 100x0.7x0.4=28 -> HHI (224^2+28^2)/252^2
    sep = frame.set_index("stage").at["separation", "hhi"]
    assert sep == pytest.approx((224**2 + 28**2) / 252**2)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"stage": "smelting"}, "heavy_separation"),
        ({"stage": "mining", "element": "Xx"}, "Dy"),
        ({"stage": "mining", "year": 1999}, str(YEAR)),
        ({"stage": "heavy_separation", "element": "Nd"}, "Dy"),
        ({"stage": "magnet", "element": "La"}, "nothing is produced"),
    ],
)
def test_bad_input_lists_valid_values(net: Network, kwargs: dict, expected: str) -> None:
    with pytest.raises(UserInputError) as info:
        stage_shares(net, **kwargs)
    assert expected in str(info.value)


def test_string_typed_tables_work_like_validated_ones(net: Network) -> None:
    # CSV tables arrive as text before validation
    text = Network(tables={k: v.astype(str) for k, v in net.tables.items()}, source="text")
    assert stage_shares(text, "mining", year=YEAR)["share"].tolist() == pytest.approx(
        [0.6, 0.2, 0.1, 0.1]
    )


def invoke(args: list[str], monkeypatch: pytest.MonkeyPatch, network: Network) -> tuple[int, str]:
    """Run ``rareflow risk ARGS`` on ``network``; returns (exit code, stdout).

    Through ``rareflow.cli.main.cli`` when the whole command imports; otherwise the risk app
    alone, mapping rareflow errors to exit codes the way ``cli`` does.
    """
    from rareflow.cli import risk

    monkeypatch.setattr(risk, "_network", lambda data: network)
    buffer = io.StringIO()
    try:
        from rareflow.cli.main import cli

        with contextlib.redirect_stdout(buffer):
            code = cli(["risk", *args])
        return code, buffer.getvalue()
    except ImportError:  # another command group is missing or broken: test the app directly
        return _invoke_app(risk.app, args)


def _invoke_app(app: typer.Typer, args: list[str]) -> tuple[int, str]:
    from typer.testing import CliRunner

    from rareflow.errors import RareflowError

    result = CliRunner().invoke(app, args)
    if isinstance(result.exception, RareflowError):
        return result.exception.exit_code, result.stdout
    return result.exit_code, result.stdout


def test_cli_concentration_json(net: Network, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out = invoke(["concentration", "--format", "json"], monkeypatch, net)
    assert code == 0
    rows = json.loads(out)
    assert rows[0]["stage"] == "mining"
    assert rows[0]["hhi"] == pytest.approx(0.42)
    assert {"stage", "element", "hhi", "top1_region", "top1_share", "top3_share"} <= set(rows[0])


def test_cli_concentration_bad_stage_exits_2(net: Network, monkeypatch: pytest.MonkeyPatch) -> None:
    code, _ = invoke(["concentration", "--stage", "smelting"], monkeypatch, net)
    assert code == 2


@pytest.mark.parametrize("suffix", [".png", ".html"])
def test_cli_concentration_chart(
    net: Network, monkeypatch: pytest.MonkeyPatch, tmp_path, suffix: str
) -> None:  # type: ignore[no-untyped-def]
    chart = tmp_path / f"hhi{suffix}"
    code, _ = invoke(["concentration", "--format", "csv", "--chart", str(chart)], monkeypatch, net)
    assert code == 0
    assert chart.stat().st_size > 1000
    if suffix == ".html":
        assert "plotly" in chart.read_text()[:200_000].lower()


def test_concentration_unknown_year_lists_years(net: Network) -> None:
    with pytest.raises(UserInputError, match=str(YEAR)):
        concentration(net, year=1999)


def test_bundled_baseline_smoke() -> None:
    """On the bundled baseline (when it loads): every stage, shares sum to 1, China leads."""
    from rareflow.data.network import load_baseline
    from rareflow.errors import RareflowError

    try:
        baseline = load_baseline()
    except RareflowError as error:  # pragma: no cover - the baseline is built separately
        pytest.skip(f"bundled baseline not loadable: {error}")
    frame = concentration(baseline)
    assert list(frame["stage"]) == ["mining", "separation", "heavy_separation", "metal", "magnet"]
    assert ((frame["hhi"] > 0) & (frame["hhi"] <= 1)).all()
    assert (frame["top1_share"] <= frame["top3_share"] + 1e-12).all()
    for stage in frame["stage"]:
        shares = stage_shares(baseline, stage)
        assert shares["share"].sum() == pytest.approx(1.0)
        assert shares["share"].is_monotonic_decreasing
    assert frame.set_index("stage").at["separation", "top1_region"] == "CHN"
