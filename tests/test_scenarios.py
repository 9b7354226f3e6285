"""Scenario loading: bundled library, binding to a network, and bad files (exit 2, no traceback)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from rareflow.cli.main import cli
from rareflow.data.network import BASELINE_DIR, Network
from rareflow.errors import UserInputError
from rareflow.policies.instruments import ExportLicense
from rareflow.scenarios.load import (
    ScenarioError,
    bind,
    bundled_names,
    field_path,
    list_scenarios,
    load_scenario,
    parse_scenario,
)

BUNDLED = ["april-2025-licensing", "baseline", "japan-review-halt", "reimpose-oct-2025",
           "suspension-extended", "us-embargo"]  # fmt: skip
STARTS = {"japan-review-halt": "2026-01"}  # a what-if on a reported event; the rest look ahead
# Codes of the bundled baseline (docs/architecture.md)
REGIONS = [
    "CHN",
    "USA",
    "JPN",
    "KOR",
    "DEU",
    "XEU",
    "VNM",
    "IND",
    "MEX",
    "MYS",
    "AUS",
    "MMR",
    "THA",
    "GBR",
    "ROW",
]
PRODUCTS = [
    "concentrate_light",
    "concentrate_ionic",
    "ndpr_oxide",
    "lace_oxide",
    "sm_oxide",
    "eu_oxide",
    "gd_oxide",
    "tb_oxide",
    "dy_oxide",
    "ho_oxide",
    "er_oxide",
    "tm_oxide",
    "yb_oxide",
    "lu_oxide",
    "y_oxide",
    "sc_oxide",
    "ndpr_metal",
    "dy_metal",
    "tb_metal",
    "sm_metal",
    "ndfeb_sintered",
    "ndfeb_bonded",
    "smco",
]
PROCESSES = [
    "mine_light",
    "mine_ionic",
    "separate_light",
    "separate_ionic",
    "reduce_ndpr",
    "reduce_dy",
    "reduce_tb",
    "reduce_sm",
    "make_sintered",
    "make_bonded",
    "make_smco",
]
SECTORS = [
    "ev_traction",
    "wind",
    "electronics",
    "industrial_motors",
    "defence",
    "medical",
    "appliances",
    "other",
]
ELEMENTS = [
    "La",
    "Ce",
    "Pr",
    "Nd",
    "Pm",
    "Sm",
    "Eu",
    "Gd",
    "Tb",
    "Dy",
    "Ho",
    "Er",
    "Tm",
    "Yb",
    "Lu",
    "Y",
    "Sc",
]


@pytest.fixture(scope="module")
def network() -> Network:
    """The dimensions of the bundled baseline, without its data."""
    return Network(
        tables={
            "regions": pd.DataFrame({"region": REGIONS}),
            "products": pd.DataFrame({"product": PRODUCTS}),
            "processes": pd.DataFrame({"process": PROCESSES}),
            "sectors": pd.DataFrame({"sector": SECTORS}),
            "elements": pd.DataFrame({"element": ELEMENTS}),
            "parameters": pd.DataFrame({"name": ["price_elasticity"], "value": [0.3]}),
        }
    )


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """rich wraps messages at 80 columns off a terminal; keep paths on one line."""
    monkeypatch.setenv("COLUMNS", "1000")


def write(tmp_path: Path, text: str | bytes, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


GOOD = """
name: mine
start: "2026-11"
months: 12
policies:
  - id: lic
    type: export_license
    items: {products: [dy_oxide]}
    targets: [USA, JPN]
    approval_share: 0.5
    start: "2026-11"
"""


# -- bundled library -------------------------------------------------------------------------
def test_bundled_names() -> None:
    assert bundled_names() == BUNDLED


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_scenario_validates_and_binds(name: str, network: Network) -> None:
    scenario = load_scenario(name, network)
    assert scenario.name == name
    assert scenario.description and scenario.sources
    assert all(s.startswith("http") for s in scenario.sources)
    assert scenario.start == STARTS.get(name, "2026-11") and scenario.months == 24


def test_bundled_scenarios_bind_to_real_baseline() -> None:
    if not any(BASELINE_DIR.glob("*.csv")):
        pytest.skip("bundled baseline not built yet")
    from rareflow.data.network import load_baseline

    net = load_baseline()
    for name in BUNDLED:
        load_scenario(name, net)


def test_reimpose_covers_the_twelve_elements_and_content_rule() -> None:
    scenario = load_scenario("reimpose-oct-2025")
    by_id = {p.id: p for p in scenario.policies}
    rule = by_id["oct-2025-content-rule"]
    assert rule.type == "content_rule" and rule.threshold == 0.001
    assert set(rule.elements) == set(
        ["Sm", "Gd", "Tb", "Dy", "Lu", "Sc", "Y", "Ho", "Er", "Tm", "Eu", "Yb"]
    )
    licence = by_id["oct-2025-licence"]
    assert isinstance(licence, ExportLicense)
    assert {"ho_oxide", "er_oxide", "tm_oxide", "eu_oxide", "yb_oxide"} <= set(
        licence.items.products
    )
    assert [e.date for e in scenario.events] == ["2026-11-27"]
    assert scenario.events[0].why_not_modelled


def test_suspension_extended_suspends_to_2027_11() -> None:
    scenario = load_scenario("suspension-extended")
    suspension = next(p for p in scenario.policies if p.type == "suspension")
    assert suspension.end == "2027-10"  # inclusive: back in force 2027-11
    ids = {p.id for p in scenario.policies if p.type != "suspension"}
    assert set(suspension.policies) == ids


def test_list_scenarios_rows() -> None:
    rows = {r["name"]: r for r in list_scenarios()}
    assert set(rows) == {*BUNDLED, "history"}  # history is built from the timeline
    assert rows["baseline"]["policies"] == 0
    assert rows["reimpose-oct-2025"]["policies"] == 3
    assert set(rows["us-embargo"]) == {"name", "description", "start", "months", "policies",
                                       "sources"}  # fmt: skip


def test_load_by_path(tmp_path: Path, network: Network) -> None:
    policy = load_scenario(write(tmp_path, GOOD), network).policies[0]
    assert isinstance(policy, ExportLicense) and policy.targets == ["USA", "JPN"]


# -- binding errors ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("old", "new", "field", "listed"),
    [
        ("[USA, JPN]", "[USA, XYZ]", "policies[0].targets[1]", "GBR"),
        ("[dy_oxide]", "[dy_oxid]", "policies[0].items.products[0]", "dy_oxide"),
        ("products: [dy_oxide]", "elements: [Dx]", "policies[0].items.elements[0]", "Dy"),
        ("    start:", "    actor: CHINA\n    start:", "policies[0].actor", "CHN"),
    ],
)
def test_unknown_codes(
    tmp_path: Path, network: Network, old: str, new: str, field: str, listed: str
) -> None:
    path = write(tmp_path, GOOD.replace(old, new))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, network)
    assert info.value.field == field
    assert str(path) in str(info.value) and listed in str(info.value)


def test_unknown_parameter_and_suspended_id(tmp_path: Path, network: Network) -> None:
    path = write(tmp_path, GOOD + "parameters: {price_elastcity: 0.5}\n")
    with pytest.raises(ScenarioError, match="price_elasticity") as info:
        load_scenario(path, network)
    assert info.value.field == "parameters.price_elastcity"
    suspension = GOOD + (
        '  - {id: s, type: suspension, start: "2026-11", end: "2027-10", policies: [lic, nope]}\n'
    )
    with pytest.raises(ScenarioError, match="unknown policy id") as info:
        load_scenario(write(tmp_path, suspension), network)
    assert info.value.field == "policies[1].policies[1]"


def test_field_path_drops_union_tags() -> None:
    assert field_path(("policies", 2, "export_license", "approval_share")) == (
        "policies[2].approval_share"
    )
    assert field_path(("months",)) == "months"


# -- bad files through the CLI: exit 2, file and field named, no traceback ------------------------
BAD_FILES = [
    ("wrong-type", GOOD.replace("months: 12", "months: lots"), ["months", "'lots'"]),
    ("out-of-range", GOOD.replace("0.5", "1.5"), ["policies[0].approval_share", "1.5"]),
    ("unknown-field", GOOD.replace("approval_share", "approvl_share"),
     ["policies[0].approvl_share", "unknown field", "approval_share"]),
    ("end-before-start", GOOD.replace('    start: "2026-11"\n', '    start: "2026-11"\n    end: "2026-01"\n'),
     ["policies[0]", "before start"]),
    ("bad-type-tag", GOOD.replace("export_license", "export_licence"),
     ["policies[0].type", "export_licence", "export_license"]),
    ("bad-month", GOOD.replace('start: "2026-11"\nmonths', 'start: "Nov 2026"\nmonths'),
     ["field start", "YYYY-MM"]),
    ("empty", "", ["empty"]),
    ("comments-only", "# nothing here\n", ["empty"]),
    ("non-utf8", b"name: caf\xe9\n", ["not UTF-8"]),
    ("bad-syntax", "name: [unclosed\nmonths: 3\n", ["invalid YAML", "line"]),
    ("not-a-mapping", "- a\n- b\n", ["not hold a mapping", "list"]),
]  # fmt: skip


@pytest.mark.parametrize(("label", "text", "expected"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_scenario_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], label: str, text: str, expected: list[str]
) -> None:
    path = write(tmp_path, text, f"{label}.yaml")
    code = cli(["run", str(path), "--store", str(tmp_path / "r.duckdb")])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2
    assert "Traceback" not in err
    assert f"{label}.yaml" in err
    for text_part in expected:
        assert text_part in err


def test_missing_scenario_lists_bundled(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["run", "no-such-scenario"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "no-such-scenario" in err and "reimpose-oct-2025" in err


def test_unknown_region_through_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if not any(BASELINE_DIR.glob("*.csv")):
        pytest.skip("bundled baseline not built yet")
    path = write(tmp_path, GOOD.replace("[USA, JPN]", "[USA, XYZ]"))
    assert cli(["run", str(path), "--store", str(tmp_path / "r.duckdb")]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "policies[0].targets[1]" in err and "'XYZ'" in err and "Traceback" not in err


def test_errors_are_user_input_errors(tmp_path: Path) -> None:
    with pytest.raises(UserInputError) as info:
        load_scenario(write(tmp_path, GOOD.replace("months: 12", "months: 0")))
    assert info.value.as_dict()["field"] == "months"  # a path in the document, not a column
    assert info.value.exit_code == 2


def test_iso3_country_codes_map_to_regions() -> None:
    """Targets and actors may name countries (as a BOM does): FRA and ITA are in the rest of
    the EU, so a licence on them targets XEU once."""
    from rareflow.data.network import load_network

    network = load_network()
    scenario = parse_scenario(
        {
            "name": "iso3",
            "start": "2026-12",
            "policies": [
                {"id": "lic", "type": "export_license", "items": {"elements": ["Dy"]},
                 "targets": ["FRA", "ITA", "DEU"], "approval_share": 0.5},
                {"id": "t", "type": "tariff", "actor": "FRA", "items": {"products": ["dy_oxide"]},
                 "targets": ["CHN"], "rate": 0.1},
            ],
        }
    )  # fmt: skip
    bound = bind(scenario, network)
    assert bound.policies[0].targets == ["XEU", "DEU"]
    assert bound.policies[1].actor == "XEU"
    with pytest.raises(ScenarioError, match="unknown region"):
        bind(parse_scenario({**scenario.model_dump(), "name": "bad"} | {"policies": [
            {"id": "x", "type": "export_ban", "items": {"elements": ["Dy"]}, "targets": ["ATL"]}
        ]}), network)  # fmt: skip
