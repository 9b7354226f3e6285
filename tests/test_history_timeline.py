"""The bundled timeline: every event of policy_events.csv is accounted for, with its source."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import typer

from rareflow.history import timeline
from rareflow.policies import instruments as ins

CSV = Path(__file__).parents[1] / "../shared/data/calibration/policy_events.csv"


def cli(argv: list[str]) -> int:
    """Run the history commands as ``rareflow.cli.main.cli`` does (errors -> exit codes)."""
    from rareflow.cli import history
    from rareflow.cli.main import report_error
    from rareflow.errors import RareflowError

    app = typer.Typer()
    history.register(app)
    try:
        app(args=argv, standalone_mode=False)
    except RareflowError as error:
        return report_error(error)
    return 0


@pytest.fixture(scope="module")
def events() -> tuple[timeline.TimelineEvent, ...]:
    return timeline.load_timeline()


@pytest.mark.skipif(not CSV.exists(), reason="../shared/data/calibration/policy_events.csv absent")
def test_every_csv_row_is_accounted_for(events: tuple[timeline.TimelineEvent, ...]) -> None:
    rows = pd.read_csv(CSV, dtype=str, keep_default_na=False)
    bundled = {(e.date, e.reference): e for e in events}
    assert len([e for e in events if not e.table]) == len(rows)
    for _, row in rows.iterrows():
        event = bundled[(row["date"], row["reference"])]
        assert event.source_url == row["source_url"]
        assert event.description == row["description"]
        assert event.modelled == bool(event.policies or event.ends)
        assert event.modelled or event.why_not_modelled


def test_modelled_events_carry_typed_instruments_with_sources(
    events: tuple[timeline.TimelineEvent, ...],
) -> None:
    policies = timeline.all_policies()
    assert {type(p) for p in policies} >= {
        ins.ExportLicense,
        ins.ExportBan,
        ins.ExportQuota,
        ins.Tariff,
        ins.ContentRule,
        ins.Suspension,
        ins.CapacityInvestment,
    }
    for event in events:
        for policy in event.policies:
            assert event.source_url in policy.source


def test_ends_set_the_end_of_earlier_instruments(
    events: tuple[timeline.TimelineEvent, ...],
) -> None:
    by_id = {p.id: p for p in timeline.all_policies()}
    for event in events:
        first_month = (event.effective or event.date)[:7]
        for policy_id in event.ends:
            end = by_id[policy_id].end
            assert end is not None and end <= first_month, (event.reference, policy_id)


def test_suspension_names_known_instruments_and_expires() -> None:
    by_id = {p.id: p for p in timeline.all_policies()}
    suspension = by_id["cn-ann70-suspension"]
    assert isinstance(suspension, ins.Suspension)
    assert suspension.end == "2026-10"
    assert all(i in by_id for i in suspension.policies)


@pytest.mark.skipif(not CSV.exists(), reason="../shared/data absent")
def test_supplement_copies_its_table_row_and_stops_us_concentrate_to_china(
    events: tuple[timeline.TimelineEvent, ...],
) -> None:
    """MP Materials' halt is not in policy_events.csv; the timeline takes it from the customs
    row of trade_flows_annual.csv, with that row's source, and the history run ships no US
    light concentrate to China from April 2025 (it did before)."""
    import rareflow
    from rareflow.history.build_timeline import supplement
    from rareflow.history.scenario import history_scenario

    halt = next(e for e in events if e.table)
    flows = pd.read_csv(CSV.parents[1] / "facts" / halt.table, dtype=str, keep_default_na=False)
    assert halt.source_url in set(flows["source_url"])
    assert [e["reference"] for e in supplement()] == [halt.reference]
    ban = halt.policies[0]
    assert isinstance(ban, ins.ExportBan) and (ban.actor, ban.targets) == ("USA", ["CHN"])
    ships = rareflow.run(history_scenario("2025-06")).dataset["shipments"].isel(draw=0)
    us_cn = ships.sel(product="concentrate_light", exporter="USA", importer="CHN")
    assert float(us_cn.sel(month="2025-03-01")) > 0
    assert float(us_cn.sel(month=slice("2025-04-01", None)).sum()) == 0


def test_key_episodes_are_modelled() -> None:
    by_id = {p.id: p for p in timeline.all_policies()}
    licence = by_id["cn-ann18-licence"]
    assert isinstance(licence, ins.ExportLicense) and licence.start == "2025-04"
    assert "ndfeb_sintered" in licence.items.products
    hold = by_id["cn-japan-hold-2010"]
    assert isinstance(hold, ins.ExportBan) and hold.targets == ["JPN"]
    assert (hold.start, hold.end) == ("2010-10", "2010-11")
    assert "cn-ann18-licence" in timeline.calibrated_licences()


def test_not_modelled_covers_other_minerals_and_announcements(
    events: tuple[timeline.TimelineEvent, ...],
) -> None:
    gallium = next(e for e in events if e.reference.startswith("MOFCOM/GAC Announcement No. 23"))
    assert not gallium.modelled and "rare earth" in gallium.why_not_modelled
    wto = [e for e in events if "WTO" in e.reference]
    assert wto and not any(e.modelled for e in wto)


def test_policies_in_a_window() -> None:
    ids = {p.id for p in timeline.policies("2024-01", "2025-09")}
    assert "cn-ann18-licence" in ids
    assert "cn-quota-2010" not in ids
    assert "cn-ann57-licence" not in ids  # starts 2025-11


def test_select_filters() -> None:
    dy = timeline.select(item="Dy", since="2025", until="2025-12")
    assert any(e.reference.startswith("MOFCOM/GAC Announcement No. 18") for e in dy)
    assert all("2025" <= e.date[:4] <= "2025" for e in dy)
    gallium = timeline.select(item="Ga")
    assert gallium and all(not e.modelled for e in gallium)
    us = timeline.select(actor="USA", since="2026")
    assert us and all("United States" in e.actor or "US " in e.actor for e in us)


def test_events_cli_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["events", "--since", "2010", "--until", "2010-12", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["date"] for r in rows] == ["2010-07", "2010-09-21", "2010-12-28"]
    first = rows[0]
    for key in ("effective", "start", "end", "actor", "instrument", "items", "targets"):
        assert key in first
    assert first["modelled"] is True and first["policies"] == ["cn-quota-2010"]
    assert first["source"].startswith("https://")
    assert first["table"] == "policy_events.csv"
    assert cli(["events", "--since", "2025-04", "--until", "2025-04", "--format", "json"]) == 0
    tables = {r["table"] for r in json.loads(capsys.readouterr().out)}
    assert tables == {"policy_events.csv", "trade_flows_annual.csv"}  # MP's halt


def test_events_cli_table_and_bad_date(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["events", "--item", "ndfeb_sintered"]) == 0
    assert "policy events" in capsys.readouterr().out
    assert cli(["events", "--since", "April 2025"]) == 2
    assert "YYYY" in capsys.readouterr().err


def test_register_adds_commands() -> None:
    from rareflow.cli import history

    app = typer.Typer()
    history.register(app)
    names = {c.name for c in app.registered_commands}
    assert names == {"events", "calibrate", "backtest", "forecast"}
