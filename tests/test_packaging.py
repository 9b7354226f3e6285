"""Packaging: compatible ranges in pyproject.toml, and a lock file that satisfies them."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]


def requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    return [Requirement(d) for d in deps]


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
