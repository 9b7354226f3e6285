"""One way to print results: a rich table for people, JSON or CSV for scripts.

Tables fit the terminal (80 columns when there is none): a table wider than it leaves out its
last columns and says which (JSON and CSV carry every one), or, when that would leave too
little, prints each row as a block of ``column: value`` lines. Values read as people write
them: ``tonnes`` (t, kt, Mt), ``usd`` ($, $k, $m, $bn), ``percent`` for shares.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from rareflow.history.records import clean, records

if TYPE_CHECKING:
    import pandas as pd


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def print_json(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, indent=2, default=clean) + "\n")


Formatter = Callable[[Any], str]


# -- numbers as people write them -----------------------------------------------------------------
def _scaled(value: float, steps: tuple[tuple[float, str], ...], unit: str) -> str:
    for size, suffix in steps:
        if abs(value) >= size:
            scaled = value / size
            digits = 0 if abs(scaled) >= 100 else 1 if abs(scaled) >= 10 else 2
            return f"{scaled:,.{digits}f} {suffix}".strip()
    spec = ",.0f" if abs(value) >= 1 else ",.3g"
    return f"{value:{spec}} {unit}".strip()


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def tonnes(value: Any) -> str:
    """Tonnes: 950 t, 12.3 kt, 1.20 Mt."""
    if _missing(value):
        return "-"
    v = float(value)
    if abs(v) < 1000:
        return f"{v:,.3g} t" if abs(v) < 100 else f"{v:,.0f} t"
    return _scaled(v, ((1e6, "Mt"), (1e3, "kt")), "t")


def usd(value: Any) -> str:
    """US dollars: $950, $12.3k, $4.5m, $1.19bn."""
    if _missing(value):
        return "-"
    v = float(value)
    if abs(v) < 0.5:
        return "$0"
    sign = "-" if v < 0 else ""
    text = _scaled(abs(v), ((1e12, "tn"), (1e9, "bn"), (1e6, "m"), (1e3, "k")), "")
    return f"{sign}${text.replace(' ', '')}"


def percent(value: Any) -> str:
    """A share (fraction) as a percentage: 0.123 -> 12.3%, 0.0004 -> 0.04%."""
    if _missing(value):
        return "-"
    v = 100.0 * float(value)
    if abs(v) < 0.005:  # rounding noise (1e-16) reads 0%, a real sliver '<0.01%'
        return "0%" if abs(v) < 1e-9 else "<0.01%"
    return f"{v:.0f}%" if abs(v) >= 10 else f"{v:.1f}%" if abs(v) >= 1 else f"{v:.2g}%"


def multiple(value: Any) -> str:
    """A multiple of a base: 1.07x, 98.50x."""
    return "-" if _missing(value) else f"{float(value):,.2f}x"


def count(value: Any) -> str:
    """A count of units: 950, 12.3k, 4.5m."""
    if _missing(value):
        return "-"
    v = float(value)
    if abs(v) < 10_000:
        return f"{v:,.0f}"
    return _scaled(v, ((1e9, "bn"), (1e6, "m"), (1e3, "k")), "").replace(" ", "")


def unit_formats(columns: Any) -> dict[str, Formatter]:
    """Formatters read off column names: *share* as %, tonnes as t/kt/Mt, *usd* as $."""
    out: dict[str, Formatter] = {}
    for col in map(str, columns):
        name = col.lower()
        if "share" in name:
            out[col] = percent
        elif name == "tonnes" or name.endswith(("_tonnes", "_t")):
            out[col] = tonnes
        elif "usd" in name and "per" not in name:
            out[col] = usd
    return out


def print_frame(
    frame: pd.DataFrame,
    fmt: Format = Format.table,
    *,
    title: str | None = None,
    float_format: str = "{:,.4g}",
    formats: Mapping[str, Formatter] | None = None,
) -> None:
    """Print a frame in the chosen format; JSON is a list of row objects. ``formats`` (column
    -> formatter, e.g. ``tonnes``) apply to the table only: JSON and CSV keep the numbers."""
    if fmt is Format.json:
        print_json(records(frame))
    elif fmt is Format.csv:
        frame.to_csv(sys.stdout, index=False)
    else:
        print_table(frame, title=title, float_format=float_format, formats=formats)


def _cell(value: Any, float_format: str, formatter: Formatter | None) -> str:
    if formatter is not None:
        return formatter(value)
    if isinstance(value, float):
        return "-" if math.isnan(value) else float_format.format(value)
    if value is None:
        return "-"
    return str(value)


def _width(header: str, cells: list[str], wrap: bool) -> int:
    """Columns a column needs on one line, or (``wrap``) at its longest word."""
    texts = [header, *cells]
    if wrap:
        return max(len(w) for t in texts for w in (t.split() or [""]))
    return max(len(t) for t in texts)


def print_table(
    frame: pd.DataFrame,
    *,
    title: str | None = None,
    float_format: str = "{:,.4g}",
    formats: Mapping[str, Formatter] | None = None,
) -> None:
    """A rich table that fits the terminal: whole, or its first columns and a note of the rest,
    or (when fewer than half the columns would fit) one block of lines per row."""
    from rich.console import Console

    console = Console()
    formats = formats or {}
    headers = [str(c) for c in frame.columns]
    cells = {
        h: [_cell(v, float_format, formats.get(h)) for v in frame[col]]
        for h, col in zip(headers, frame.columns, strict=True)
    }
    numeric = {h: frame[c].dtype.kind in "iuf" for h, c in zip(headers, frame.columns, strict=True)}
    fits = _fitting(headers, cells, numeric, console.width)
    if len(fits) == len(headers) or (2 * len(fits) >= len(headers) and len(fits) >= 2):
        widths = _widths(fits, cells, numeric, console.width)
        _grid(console, title, widths, cells, numeric, len(frame))
        left_out = [h for h in headers if h not in fits]
        if left_out:
            console.print(f"(left out at this width: {', '.join(left_out)}; --format json or "
                          "csv, or a wider terminal, shows them)", markup=False,
                          highlight=False, style="dim")  # fmt: skip
        return
    _blocks(console, title, headers, cells, len(frame))


def _fitting(
    headers: list[str], cells: dict[str, list[str]], numeric: dict[str, bool], width: int
) -> list[str]:
    """The leading columns that fit ``width``: numbers on one line, text wrapped at words."""
    used, out = 1, list[str]()
    for h in headers:
        need = _width(h, cells[h], wrap=not numeric[h]) + 3
        if used + need > width:
            break
        used += need
        out.append(h)
    return out


def _widths(
    headers: list[str], cells: dict[str, list[str]], numeric: dict[str, bool], width: int
) -> dict[str, int]:
    """Each column's width: its one-line width where all fit, else text columns shrink toward
    their longest word, sharing the room left in proportion to what they would need more."""
    full = {h: _width(h, cells[h], wrap=False) for h in headers}
    least = {h: full[h] if numeric[h] else _width(h, cells[h], wrap=True) for h in headers}
    room = width - 1 - 3 * len(headers)
    if sum(full.values()) <= room:
        return full
    spare, want = room - sum(least.values()), sum(full[h] - least[h] for h in headers)
    return {h: least[h] + (spare * (full[h] - least[h])) // max(want, 1) for h in headers}


def _grid(
    console: Any,
    title: str | None,
    widths: dict[str, int],
    cells: dict[str, list[str]],
    numeric: dict[str, bool],
    rows: int,
) -> None:
    from rich.table import Table

    table = Table(title=title, show_lines=False)
    for h, w in widths.items():
        table.add_column(h, justify="right" if numeric[h] else "left", overflow="fold",
                         no_wrap=numeric[h], width=w)  # fmt: skip
    for i in range(rows):
        table.add_row(*[cells[h][i] for h in widths])
    console.print(table)


def _blocks(
    console: Any, title: str | None, headers: list[str], cells: dict[str, list[str]], rows: int
) -> None:
    """Each row as '─ first value' then 'column  value' lines: any width, nothing cut."""
    from rich.text import Text

    if title:
        console.print(Text(title, style="bold"))
    key = max(len(h) for h in headers[1:]) if len(headers) > 1 else 0
    for i in range(rows):
        console.print(Text(f"─ {cells[headers[0]][i]}", style="bold"))
        for h in headers[1:]:
            line = Text(f"  {h:<{key}}  ", style="dim")
            line.append(cells[h][i])
            console.print(line)


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
