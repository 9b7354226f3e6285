"""Installed size of rareflow's core and of each extra, from the environment's own files.

For each set of requirements (core; core + one extra; everything) it walks the dependency
closure through the installed distributions' metadata and sums the sizes of the files their
RECORDs list: what ``pip install rareflow[EXTRA]`` puts on disk at the locked versions,
without downloading anything. Run from an environment made with ``make`` (the lock)::

    python benchmarks/install_size.py
"""

from __future__ import annotations

import tomllib
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
BUILD_ONLY = {"pip", "setuptools", "wheel"}


def closure(requirements: list[str], extras: dict[str, list[str]]) -> set[str]:
    seen: set[str] = set()
    todo = [Requirement(r) for r in requirements]
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        if name == "rareflow":
            todo += [Requirement(r) for e in req.extras for r in extras[e]]
            continue
        if name in seen or name in BUILD_ONLY:
            continue
        seen.add(name)
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            continue
        for text in dist.requires or []:
            dep = Requirement(text)
            wanted = [{"extra": e} for e in req.extras] or [{"extra": ""}]
            if dep.marker is None or any(dep.marker.evaluate(env) for env in wanted):
                todo.append(dep)
    return seen


def megabytes(names: set[str]) -> float:
    total = 0
    for name in names:
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            continue
        for file in dist.files or []:
            path = Path(str(dist.locate_file(file)))
            if path.is_file():
                total += path.stat().st_size
    return total / 1e6


def main() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core, extras = project["dependencies"], project["optional-dependencies"]
    base = closure(core, extras)
    print(f"core: {megabytes(base):,.0f} MB in {len(base)} distributions")
    for extra in ("web", "dask", "economy", "all"):
        more = closure([*core, f"rareflow[{extra}]"], extras)
        print(f"+ [{extra}]: {megabytes(more) - megabytes(base):+,.0f} MB, "
              f"{len(more - base)} more distributions")  # fmt: skip


if __name__ == "__main__":
    main()
