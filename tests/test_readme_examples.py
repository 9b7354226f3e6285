"""The README's scenario YAML runs as written (a newcomer copies it first)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from rareflow.data.network import load_network
from rareflow.scenarios.load import bind, parse_scenario

README = Path(__file__).resolve().parents[1] / "README.md"


def yaml_blocks() -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", README.read_text(), re.DOTALL)


def test_every_yaml_block_of_the_readme_is_a_scenario_that_binds() -> None:
    blocks = yaml_blocks()
    assert blocks, "the README shows no scenario YAML"
    network = load_network()
    for block in blocks:
        scenario = bind(parse_scenario(yaml.safe_load(block), file="README.md"), network)
        assert all(p.start for p in scenario.policies)  # inherited from the scenario if omitted
