"""Packaging: compatible ranges in pyproject.toml, and a lock file that satisfies them."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]


def requirements() -> list[Requirement]:
    """Every dependency, of the core and of each extra (an extra naming others left out)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"].values()
    deps = [*project["dependencies"], *(d for extra in extras for d in extra)]
    return [r for r in map(Requirement, deps) if canonicalize_name(r.name) != "rareflow"]


def pins() -> dict[str, str]:
    lines = (ROOT / "requirements.lock").read_text().splitlines()
    rows = [line.split("==") for line in lines if line and not line.startswith("#")]
    assert all(len(r) == 2 for r in rows), "every line of the lock is NAME==VERSION"
    return {canonicalize_name(name): version for name, version in rows}


def test_pyproject_has_ranges_not_pins() -> None:
    for req in requirements():
        assert not any(s.operator == "==" for s in req.specifier), req
        assert any(s.operator == ">=" for s in req.specifier), req  # a tested lower bound


def test_the_lock_pins_every_dependency_within_its_range() -> None:
    locked = pins()
    for req in requirements():
        name = canonicalize_name(req.name)
        assert name in locked, f"{req.name} is not in requirements.lock"
        assert req.specifier.contains(locked[name]), (req, locked[name])


def test_make_installs_from_the_lock() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "pip install --quiet -r requirements.lock" in makefile
    assert "--no-deps -e ." in makefile


def test_the_optional_parts_are_extras_not_core() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = {canonicalize_name(Requirement(d).name) for d in project["dependencies"]}
    extras = project["optional-dependencies"]
    for extra in ("web", "dask", "economy"):
        names = {canonicalize_name(Requirement(d).name) for d in extras[extra]}
        assert names and not names & core, extra
    assert "rareflow[all]" in extras["dev"]  # make and CI test every part


def test_a_missing_extra_is_named_with_its_install_command(tmp_path: Path) -> None:
    """Without uvicorn (hidden from this interpreter), `rareflow serve` says which extra to
    install and exits 2; so does `--executor dask` without distributed."""
    import subprocess
    import sys

    script = (
        "import sys; sys.modules[sys.argv[1]] = None; sys.argv = ['rareflow', *sys.argv[2:]];"
        "from rareflow.cli.main import main; main()"
    )
    cases = [("uvicorn", ["serve"], "web"),
             ("distributed", ["montecarlo", "baseline", "--draws", "2", "--months", "1",
                              "--executor", "dask", "--store", str(tmp_path / "s.duckdb")], "dask")]  # fmt: skip
    for module, args, extra in cases:
        done = subprocess.run([sys.executable, "-c", script, module, *args],
                              capture_output=True, text=True, timeout=300)  # fmt: skip
        assert done.returncode == 2, done.stderr
        assert module in done.stderr and f"pip install 'rareflow[{extra}]'" in done.stderr
