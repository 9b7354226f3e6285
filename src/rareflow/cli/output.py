"""One way to print results: a rich table for people, JSON or CSV for scripts."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def _clean(value: Any) -> Any:
    """JSON-safe scalars: numpy types to Python, NaN to null."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): _clean(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


def print_json(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, indent=2, default=_clean) + "\n")


def print_frame(
    frame: pd.DataFrame,
    fmt: Format = Format.table,
    *,
    title: str | None = None,
    float_format: str = "{:,.4g}",
) -> None:
    """Print a frame in the chosen format; JSON is a list of row objects."""
    if fmt is Format.json:
        print_json(records(frame))
    elif fmt is Format.csv:
        frame.to_csv(sys.stdout, index=False)
    else:
        print_table(frame, title=title, float_format=float_format)


def print_table(
    frame: pd.DataFrame, *, title: str | None = None, float_format: str = "{:,.4g}"
) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_lines=False)
    for col in frame.columns:
        numeric = frame[col].dtype.kind in "iuf"
        table.add_column(str(col), justify="right" if numeric else "left")
    for row in frame.itertuples(index=False):
        table.add_row(
            *[
                float_format.format(v) if isinstance(v, float) and not math.isnan(v) else str(v)
                for v in row
            ]
        )
    Console().print(table)


def console_err() -> Any:
    from rich.console import Console

    return Console(stderr=True)


@contextmanager
def working(text: str) -> Iterator[None]:
    """Say on stderr that a long step runs: a spinner with the time elapsed on a terminal,
    one line otherwise (logs, pipes), so a quiet wait never looks like a hang."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    console = console_err()
    if not console.is_terminal:
        console.print(f"{text} ...", markup=False, highlight=False)
        yield
        return
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        bar.add_task(text, total=None)
        yield
