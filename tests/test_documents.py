"""The one reader of scenario documents (CLI files and API bodies) refuses what could hurt it:
aliases, huge or deeply nested documents, repeated keys; always a clear error, exit 2."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest

from rareflow.errors import ScenarioError, UserInputError
from rareflow.scenarios.documents import MAX_BYTES, read_bytes, read_file
from rareflow.web.inputs import parse_body

LAUGHS = "a: &a ['lol','lol','lol','lol','lol','lol','lol','lol','lol']\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
    for i in range(8)
)


def read(text: str, kind: str = "yaml") -> dict:
    return read_bytes(text.encode(), label="doc.yaml", kind=kind)  # type: ignore[arg-type]


def test_aliases_are_refused() -> None:
    with pytest.raises(ScenarioError, match="aliases"):
        read(LAUGHS)


def test_repeated_keys_are_refused_with_the_line() -> None:
    with pytest.raises(ScenarioError, match=r"line 3.*'months' appears twice"):
        read("name: x\nmonths: 12\nmonths: 24\n")


@pytest.mark.parametrize("levels", [40, 1000])
def test_deep_nesting_is_refused(levels: int) -> None:
    flow = "a: " + "[" * levels + "]" * levels
    block = "".join(" " * i + f"k{i}:\n" for i in range(levels)) + " " * levels + "v: 1\n"
    json_text = '{"a": ' + "[" * levels + "]" * levels + "}"
    for text, kind in ((flow, "yaml"), (block, "yaml"), (json_text, "json")):
        with pytest.raises(ScenarioError, match="nested too deeply"):
            read(text, kind)


def test_a_scenario_is_well_within_the_depth() -> None:
    doc = read("name: x\npolicies:\n  - id: a\n    items: {products: [dy_oxide]}\n")
    assert doc["policies"][0]["items"]["products"] == ["dy_oxide"]


def test_large_files_are_refused_before_they_are_read(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    with path.open("wb") as f:
        f.truncate(50 * 1024 * 1024)  # sparse: 50 MB of nothing
    with pytest.raises(ScenarioError, match="too large") as info:
        read_file(path)
    assert f"{MAX_BYTES:,}" in str(info.value)


def test_api_bodies_go_through_the_same_reader() -> None:
    with pytest.raises(ScenarioError, match="aliases"):
        parse_body(LAUGHS.encode(), "application/yaml")
    with pytest.raises(ScenarioError, match="appears twice"):
        parse_body(b"name: a\nname: b\n", "application/yaml")


def test_echoed_values_are_cut_short() -> None:
    error = UserInputError("invalid value", field="months", value="9" * 10_000)
    assert len(str(error)) < 300
    assert "..." in str(error) and "field months" in str(error)


def _limited(cmd: list[str], gigabytes: float) -> subprocess.CompletedProcess[str]:
    def cap() -> None:
        limit = int(gigabytes * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, preexec_fn=cap)


@pytest.mark.parametrize(
    "text",
    [
        LAUGHS,
        "name: x\n" + "".join(" " * i + f"k{i}:\n" for i in range(2000)),
        "name: a\nname: b\n",
    ],
    ids=["billion-laughs", "deep", "repeated-key"],
)
def test_the_cli_refuses_hostile_files_with_exit_2_in_bounded_memory(
    tmp_path: Path, text: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    cmd = [sys.executable, "-m", "rareflow.cli.main", "run", str(path), "--store",
           str(tmp_path / "s.duckdb")]  # fmt: skip
    done = _limited(cmd, 3.0)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "bad.yaml" in done.stderr
