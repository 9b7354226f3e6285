"""The ``uncertainty:`` section: parsed with the scenario, checked against it, errors by path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rareflow.data.network import Network
from rareflow.scenarios.load import ScenarioError, parse_scenario
from rareflow.scenarios.uncertainty import Distribution
from rareflow.uncertainty.run import load
from rareflow.uncertainty.sampling import factors, ppf, stream_uniforms, uniforms

LICENCE = {"id": "lic", "type": "export_license", "actor": "CHN", "start": "2026-11",
           "items": {"products": ["ndfeb_sintered"]}, "approval_share": 0.5,
           "lead_time_months": 1}  # fmt: skip


def scenario(uncertainty: dict[str, Any]) -> dict[str, Any]:
    return {"name": "u", "start": "2026-11", "months": 6, "policies": [LICENCE],
            "uncertainty": uncertainty}  # fmt: skip


def test_valid_section_parses_and_lists_factors() -> None:
    s = parse_scenario(scenario({
        "parameters": {"demand_elasticity": {"dist": "uniform", "low": 0.05, "high": 0.3}},
        "policies": {"lic": {"probability": 0.7,
                             "approval_share": {"dist": "beta", "a": 2, "b": 3},
                             "lead_time_months": {"dist": "choice", "values": [1, 2]}}},
    }))  # fmt: skip
    names = [(f.name, f.kind) for f in factors(s)]
    assert names == [
        ("demand_elasticity", "parameter"),
        ("lic.probability", "probability"),
        ("lic.approval_share", "attribute"),
        ("lic.lead_time_months", "attribute"),
    ]


def test_default_is_empty() -> None:
    s = parse_scenario({"name": "plain"})
    assert s.uncertainty.is_empty() and factors(s) == []


@pytest.mark.parametrize(
    ("section", "path", "text"),
    [
        ({"parameters": {"x": {"dist": "uniform", "low": 1}}}, "uncertainty.parameters.x", "needs high"),
        ({"parameters": {"x": {"dist": "gamma"}}}, "uncertainty.parameters.x.dist", "invalid"),
        ({"parameters": {"x": {"dist": "uniform", "low": 2, "high": 1}}}, "uncertainty.parameters.x", "below"),
        ({"policies": {"lic": {"probability": 1.5}}}, "uncertainty.policies.lic.probability", "invalid"),
        ({"policies": {"lic": {"approval_share": {"dist": "uniform", "low": 0, "hi": 1}}}},
         "uncertainty.policies.lic.approval_share.hi", "unknown field"),
        ({"extra": {}}, "uncertainty.extra", "unknown field"),
    ],
)  # fmt: skip
def test_structure_errors_name_the_field(section: dict[str, Any], path: str, text: str) -> None:
    with pytest.raises(ScenarioError) as err:
        parse_scenario(scenario(section), file="s.yaml")
    assert err.value.field == path
    assert text in str(err.value)


@pytest.mark.parametrize(
    ("section", "path"),
    [
        ({"parameters": {"demand_elasticty": {"dist": "uniform", "low": 0, "high": 1}}},
         "uncertainty.parameters.demand_elasticty"),
        ({"policies": {"nope": {"probability": 0.5}}}, "uncertainty.policies.nope"),
        ({"policies": {"lic": {"rate": {"dist": "uniform", "low": 0, "high": 1}}}},
         "uncertainty.policies.lic.rate"),
        ({"policies": {"lic": {"approval_share": {"dist": "uniform", "low": 0.5, "high": 1.5}}}},
         "uncertainty.policies.lic.approval_share"),
    ],
)  # fmt: skip
def test_name_and_range_errors(
    section: dict[str, Any], path: str, tiny_network: Network, tmp_path: Path
) -> None:
    import yaml

    file = tmp_path / "s.yaml"
    file.write_text(yaml.safe_dump(scenario(section)))
    with pytest.raises(ScenarioError) as err:
        load(file, tiny_network)
    assert err.value.field == path
    assert err.value.file == str(file)
    assert err.value.exit_code == 2


def test_typo_gets_a_hint(tiny_network: Network) -> None:
    s = parse_scenario(scenario({"parameters": {"demand_elasticty": {"dist": "uniform", "low": 0, "high": 1}}}))  # fmt: skip
    with pytest.raises(ScenarioError, match="demand_elasticity"):
        load(s, tiny_network)


def test_inverse_cdfs_match_the_distributions() -> None:
    u = (np.arange(20000) + 0.5) / 20000
    tri = ppf(Distribution(dist="triangular", low=0, mode=1, high=4), u)
    assert tri.mean() == pytest.approx(5 / 3, rel=1e-3)
    beta = ppf(Distribution(dist="beta", a=2, b=6), u)
    assert beta.mean() == pytest.approx(0.25, rel=1e-3)
    norm = ppf(Distribution(dist="normal", mean=1, sd=2, low=0), u)
    assert norm.min() == 0.0 and np.median(norm) == pytest.approx(1.0, abs=1e-3)
    pick = ppf(Distribution(dist="choice", values=[1, 2, 3], weights=[1, 0, 3]), u)
    assert set(np.unique(pick)) == {1.0, 3.0} and (pick == 3).mean() == pytest.approx(0.75)


def test_inverse_cdfs_are_scipy_stats_to_the_bit() -> None:
    """``ppf`` avoids importing scipy.stats (slow) but must give its numbers exactly."""
    from scipy import stats

    u = np.concatenate([[0.0, 1e-12, 0.5, 1 - 1e-12], np.random.default_rng(1).random(5000)])
    cases = [
        (Distribution(dist="triangular", low=2, mode=3, high=6),
         stats.triang.ppf(u, 0.25, loc=2, scale=4)),
        (Distribution(dist="beta", a=4, b=6), stats.beta.ppf(u, 4, 6)),
        (Distribution(dist="beta", a=0.5, b=3, low=1, high=2), 1 + stats.beta.ppf(u, 0.5, 3)),
        (Distribution(dist="normal", mean=1, sd=2), stats.norm.ppf(u, 1, 2)),
    ]  # fmt: skip
    for dist, expected in cases:
        assert np.array_equal(ppf(dist, u), expected), dist.dist


def test_uniforms_depend_only_on_seed_and_draw() -> None:
    whole = uniforms(7, 0, 600, 3)
    assert np.array_equal(whole[256:300], uniforms(7, 256, 300, 3)[:44])
    assert np.array_equal(whole[:10], stream_uniforms(7, 0, 10, 3))
    assert not np.array_equal(whole, uniforms(8, 0, 600, 3))
