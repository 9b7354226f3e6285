"""A wheel builds and works: ``python -m build --wheel`` on a copy of the source, installed with
``--no-deps`` into a fresh venv that sees the locked dependencies of this environment, then
``rareflow demo`` run from that venv, away from the source tree.

The build backend (setuptools>=77, wheel) comes from PyPI into build's isolated environment,
as it does for anyone running ``python -m build``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "rareflow"
pytestmark = pytest.mark.wheel


def _run(args: list[str | Path], cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"{args}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def _package_files() -> set[str]:
    """Every file of the package that is not Python source or a cache: its data."""
    return {
        str(p.relative_to(PACKAGE.parent))
        for p in PACKAGE.rglob("*")
        if p.is_file() and p.suffix not in {".py", ".pyc"} and "__pycache__" not in p.parts
    }


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tree = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, tree / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")
    shutil.copytree(ROOT / "src", tree / "src", ignore=ignore)
    dist = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "build", "--wheel", "--outdir", dist, tree], cwd=tree)
    (found,) = dist.glob("rareflow-*.whl")
    return found


def test_the_wheel_holds_the_package_data(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = _package_files() - names
    assert not missing, f"not in the wheel: {sorted(missing)}"
    assert "rareflow/web/static/index.html" in names
    assert "rareflow/data/baseline/trade.csv" in names


def test_the_installed_wheel_runs_the_demo(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=tmp_path)
    python = venv / "bin" / "python"
    site = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                     cwd=tmp_path).strip())  # fmt: skip
    # the locked dependencies of this environment, after the venv's own packages; its .pth
    # files (this checkout's editable install among them) are not read from there
    (site / "locked-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    pip = [sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-deps"]
    _run([*pip, wheel], cwd=tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["RAREFLOW_STORE"] = str(tmp_path / "results.duckdb")
    where = _run([python, "-c", "import rareflow; print(rareflow.__file__)"], cwd=tmp_path, env=env)
    assert where.startswith(str(site)), where  # the wheel's copy, not the source tree
    out = _run([venv / "bin" / "rareflow", "demo"], cwd=tmp_path, env=env)
    assert "reimpose-oct-2025" in out
