"""``rareflow data sources``: a summary people can read, filters, and every value with --all."""

from __future__ import annotations

import json

import pytest

from rareflow.cli.main import cli


def test_summary_by_default_with_full_urls(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    assert cli(["data", "sources"]) == 0
    out = capsys.readouterr().out
    assert len(out.splitlines()) < 80  # not 22,466 lines
    assert "provenance of" in out and "assumption" in out and "--all" in out
    urls = [w for line in out.splitlines() for w in line.split() if w.startswith("https://")]
    assert urls and all("…" not in u for u in urls)


def test_filters_and_all(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["data", "sources", "--provenance", "sourced", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and {r["provenance"] for r in rows} == {"sourced"}
    assert cli(["data", "sources", "--search", "usgs", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and all("usgs" in (r["key"] + r["note"] + r["source_url"]).lower() for r in rows)
    assert cli(["data", "sources", "--table", "projects", "--all"]) == 0
    assert "projects" in capsys.readouterr().out
    assert cli(["data", "sources", "--provenance", "guess"]) == 2
    assert "sourced, derived, assumption" in capsys.readouterr().err
