"""``rareflow scenarios|run|runs|results|compare|plot``: run scenarios and read stored results.

Heavy modules (pandas, the engine, DuckDB, plotting) are imported inside the commands so that
``rareflow --help`` stays fast.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from rareflow.cli.output import Format, print_frame, print_json

if TYPE_CHECKING:
    import pandas as pd

    from rareflow.analytics.compare import Comparison
    from rareflow.data.network import Network
    from rareflow.io.store import ResultStore
    from rareflow.scenarios.model import Scenario


class Shown(StrEnum):
    table = "table"
    json = "json"


class FileFormat(StrEnum):
    csv = "csv"
    json = "json"
    parquet = "parquet"


StoreOption = Annotated[
    Path | None,
    typer.Option(
        "--store",
        help="Results store (DuckDB file). Default: $RAREFLOW_STORE, else "
        "~/.local/share/rareflow/results.duckdb (platform data dir).",
    ),
]
DataOption = Annotated[
    Path | None,
    typer.Option("--data", help="Dataset directory (CSV or Parquet per table); default: bundled."),
]
ShownOption = Annotated[Shown, typer.Option("--format", help="table or json.")]
TOP = 20  # rows shown per table in the terminal; JSON has them all


def _more(frame: pd.DataFrame) -> None:
    if len(frame) > TOP:
        typer.echo(f"... and {len(frame) - TOP} more rows (--format json lists them all)")


# -- shared helpers (also used by ``rareflow demo``) ---------------------------------------------
def open_store(path: Path | None) -> ResultStore:
    """The results store, telling stderr when it waits for another process's lock."""
    from rareflow.io.store import ResultStore

    return ResultStore(path, notify=lambda text: typer.echo(f"waiting: {text}", err=True))


def prepare(scenario: str, data: Path | None) -> tuple[Scenario, Network]:
    """The scenario validated (file problems first, before the dataset is read), the dataset
    loaded, and the scenario bound to it."""
    from rareflow.data.network import load_network
    from rareflow.scenarios.load import GENERATED, bind, load_scenario, resolve

    source = scenario if scenario in GENERATED else resolve(scenario)
    loaded = load_scenario(source)
    network = load_network(data)
    return bind(loaded, network, file=str(source)), network


def simulate(scenario: Scenario, network: Network, months: int | None = None) -> Any:
    """Run ``scenario`` with a spinner on stderr; returns the RunResult."""
    from rareflow.cli.output import console_err
    from rareflow.engine.run import run as engine_run

    with console_err().status(f"Running {scenario.name} ...", spinner="dots"):
        return engine_run(scenario, network=network, months=months)


def nonzero_summary(summary: pd.DataFrame) -> pd.DataFrame:
    """Rows with any loss, biggest value lost first."""
    measures = ["peak_shortage_share", "units_not_built", "value_lost_usd"]
    rows = summary[(summary[measures].fillna(0) > 0).any(axis=1)]
    order = ["value_lost_usd", "units_not_built", "peak_shortage_share"]
    return rows.sort_values(order, ascending=False).reset_index(drop=True)


def moved_prices(prices: pd.DataFrame, threshold: float = 0.005) -> pd.DataFrame:
    """Peak prices more than ``threshold`` (relative) away from the base, biggest first."""
    frame = prices.copy()
    frame["change_pct"] = 100.0 * (frame["peak_usd_per_kg"] / frame["base_usd_per_kg"] - 1.0)
    moved = frame[frame["change_pct"].abs() > 100.0 * threshold]
    return moved.sort_values("change_pct", ascending=False, key=abs).reset_index(drop=True)


def _pct(series: pd.Series) -> pd.Series:
    return series.map(lambda v: f"{100.0 * v:.1f}%")


def print_headline(
    scenario: str,
    summary: pd.DataFrame,
    prices: pd.DataFrame,
    stoppages: pd.DataFrame | None = None,
) -> None:
    """Shortages per importing region and sector, stoppages, then the prices that moved."""
    _print_shortages(scenario, nonzero_summary(summary))
    if stoppages is not None:
        _print_stoppages(scenario, stoppages)
    _print_prices(scenario, moved_prices(prices))


def _sectors(sectors: pd.Series) -> str:
    return ", ".join(sectors) if len(sectors) < 4 else f"{len(sectors)} sectors"


def _print_stoppages(scenario: str, events: pd.DataFrame) -> None:
    """Lines stopped while regions still hold stock (``engine/buyers.py``), deepest first."""
    import pandas as pd

    from rareflow.cli.output import print_table

    if events.empty:
        typer.echo(f"{scenario}: no buyer runs out of stock.")
        return
    keys = ["region", "first_month", "months", "peak_share", "peak_month"]
    grouped = events.assign(peak_share=events["peak_share"].round(4)).groupby(
        keys, as_index=False, sort=False
    )  # sectors alike in a region (one magnet pool) share a row
    rows = pd.DataFrame(grouped["sector"].agg(_sectors)).sort_values("peak_share", ascending=False)
    shown = pd.DataFrame(
        {
            "region": rows["region"],
            "sectors": rows["sector"],
            "from": rows["first_month"],
            "months": rows["months"],
            "peak stopped": _pct(rows["peak_share"]),
            "in": rows["peak_month"],
        }
    ).head(TOP)
    print_table(shown, title=f"{scenario}: stoppages (share of buyers' output stopped)")
    _more(rows)


def _print_shortages(scenario: str, rows: pd.DataFrame) -> None:
    import pandas as pd

    from rareflow.cli.output import print_table

    if rows.empty:
        typer.echo(f"{scenario}: no shortages in any region or sector.")
    else:
        shown = pd.DataFrame(
            {
                "region": rows["region"],
                "sector": rows["sector"],
                "peak short": _pct(rows["peak_shortage_share"]),
                "months": rows["shortage_months"],
                "units not built": rows["units_not_built"],
                "value lost $m": rows["value_lost_usd"] / 1e6,
            }
        ).head(TOP)
        title = f"{scenario}: shortages by importing region and sector"
        print_table(shown, title=title, float_format="{:,.0f}")
        _more(rows)


def _print_prices(scenario: str, all_moved: pd.DataFrame) -> None:
    import pandas as pd

    from rareflow.cli.output import print_table

    moved = all_moved.head(TOP)
    if not moved.empty:
        shown = pd.DataFrame(
            {
                "product": moved["product"],
                "market": moved["market"],
                "base": moved["base_usd_per_kg"],
                "peak": moved["peak_usd_per_kg"],
                "change %": moved["change_pct"],
                "peak month": moved["peak_month"].astype(str),
            }
        )
        print_table(shown, title=f"{scenario}: peak prices (USD/kg)", float_format="{:,.1f}")
        _more(all_moved)


def headline_payload(result: Any) -> dict[str, Any]:
    from rareflow.io.export import jsonable

    name = getattr(result.scenario, "name", result.scenario)
    return jsonable(
        {
            "run_id": result.run_id,
            "scenario": name,
            "summary": nonzero_summary(result.summary()).to_dict(orient="records"),
            "peak_prices": result.peak_prices().to_dict(orient="records"),
            "stoppages": result.stoppages().to_dict(orient="records"),
            "mass_balance_max_residual": result.mass_balance_max_residual,
            **impact_payload(result),
        }
    )


def impact_payload(result: Any) -> dict[str, Any]:
    """``impact``: per region gdp_loss_usd and gdp_loss_share over the horizon (bundled table,
    ARIO); null with ``impact_note`` saying why for a dataset the default mapping does not
    cover (its own regions or sectors: use ``rareflow impact --mapping``)."""
    from rareflow.economy.impact import by_region_table, impact
    from rareflow.errors import UserInputError

    try:
        frame = by_region_table(impact(result))
    except UserInputError as error:
        return {"impact": None, "impact_note": f"no impact: {error}"}
    rows = [{str(k): v for k, v in row.items()} for row in frame.to_dict(orient="records")]
    return {"impact": rows}


def write_outputs(result: Any, out: Path) -> list[Path]:
    """results.parquet (tidy) and summary.json (headline, full summary) in ``out``."""
    from rareflow.io.export import write_frame, write_json

    payload = headline_payload(result)
    payload["summary"] = result.summary().to_dict(orient="records")
    payload["parameters"] = result.parameters
    payload["started_at"] = str(result.started_at)
    payload["finished_at"] = str(result.finished_at)
    return [
        write_frame(result.tidy(), out / "results.parquet"),
        write_json(payload, out / "summary.json"),
    ]


def print_comparison(comparison: Comparison) -> None:
    import pandas as pd

    from rareflow.cli.output import print_table

    c = comparison
    head = f"{c.scenario_b} ({c.run_b}) vs {c.scenario_a} ({c.run_a})"
    if c.sectors.empty and c.prices.empty and c.exports.empty:
        typer.echo(f"{head}: no differences.")
        return
    if not c.sectors.empty:
        f = c.sectors.head(TOP)
        shown = pd.DataFrame(
            {
                "region": f["region"],
                "sector": f["sector"],
                "peak A": _pct(f["peak_shortage_share_a"]),
                "peak B": _pct(f["peak_shortage_share_b"]),
                "Δ months": f["shortage_months_change"],
                "Δ units": f["units_not_built_change"],
                "Δ value $m": f["value_lost_usd_change"] / 1e6,
            }
        )
        print_table(shown, title=f"{head}: shortages", float_format="{:,.0f}")
        _more(c.sectors)
    if not c.prices.empty:
        f = c.prices.head(TOP)
        shown = pd.DataFrame(
            {
                "product": f["product"],
                "market": f["market"],
                "peak A": f["peak_usd_per_kg_a"],
                "peak B": f["peak_usd_per_kg_b"],
                "Δ %": f["peak_change_pct"],
            }
        )
        print_table(shown, title="peak prices (USD/kg)", float_format="{:,.1f}")
        _more(c.prices)
    if not c.exports.empty:
        f = c.exports.head(TOP)
        shown = pd.DataFrame(
            {
                "to": f["partner"],
                "product": f["product"],
                "t A": f["tonnes_a"],
                "t B": f["tonnes_b"],
                "Δ t": f["tonnes_change"],
                "Δ %": f["tonnes_change_pct"],
            }
        )
        print_table(shown, title="China's exports over the horizon (t)", float_format="{:,.0f}")
        _more(c.exports)


# -- commands ------------------------------------------------------------------------------------
def scenarios(
    action: Annotated[str | None, typer.Argument(help="'show' to print one as YAML.")] = None,
    name: Annotated[str | None, typer.Argument(help="The scenario to show.")] = None,
    fmt: ShownOption = Shown.table,
) -> None:
    """List the bundled scenarios; `scenarios show NAME` prints one's YAML to copy and edit."""
    import pandas as pd

    from rareflow.scenarios.load import list_scenarios

    if action is not None:
        from rareflow.cli.scenario_show import check_action, scenario_yaml

        typer.echo(scenario_yaml(check_action(action, name)), nl=False)
        return

    rows = list_scenarios()
    if fmt is Shown.json:
        print_json(rows)
        return
    frame = pd.DataFrame(rows).drop(columns="sources")
    frame["description"] = frame["description"].str.split(". ", regex=False).str[0]
    frame = frame[["name", "start", "months", "policies", "description"]]
    print_frame(frame, Format.table, title="bundled scenarios (rareflow run NAME)")


def run(
    scenario: Annotated[str, typer.Argument(help="A bundled scenario name or a YAML file.")],
    months: Annotated[
        int | None, typer.Option("--months", min=1, max=600, help="Override the horizon.")
    ] = None,
    data: DataOption = None,
    store: StoreOption = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Also write results.parquet and summary.json here.")
    ] = None,
    fmt: ShownOption = Shown.table,
) -> None:
    """Run a scenario, store its results and print who runs short of what.

    A store that stays locked (see $RAREFLOW_STORE_WAIT) or cannot be written does not lose the
    run: it is kept beside the store and the error says how to import it (exit 1 or 2)."""
    results_store = open_store(store)
    loaded, network = prepare(scenario, data)
    results_store.check()  # a store that could never take the run fails before simulating
    result = simulate(loaded, network, months)
    run_id = results_store.save(result)
    _remind_pending(results_store)
    written = write_outputs(result, out) if out is not None else []
    if fmt is Shown.json:
        print_json(headline_payload(result))
        return
    name = getattr(result.scenario, "name", scenario)
    print_headline(name, result.summary(), result.peak_prices(), result.stoppages())
    typer.echo(
        f"run {run_id} stored in {results_store.path} "
        f"(mass balance residual {result.mass_balance_max_residual:.1e})"
    )
    for path in written:
        typer.echo(f"wrote {path}")


def _remind_pending(results_store: ResultStore) -> None:
    waiting = results_store.pending()
    if waiting:
        typer.echo(
            f"note: {len(waiting)} earlier run(s) kept in {results_store.pending_dir} are not "
            f"stored yet; `rareflow import --store {results_store.path}` stores them",
            err=True,
        )


def import_runs(
    files: Annotated[
        list[Path] | None,
        typer.Argument(help="Runs kept beside a store (.parquet); default: all of its pending."),
    ] = None,
    store: StoreOption = None,
) -> None:
    """Store runs that were kept beside a locked or unwritable store (see README: Reliability)."""
    from rareflow.errors import EXIT_CHECK_FAILED, RareflowError

    results_store = open_store(store)
    chosen = list(files or results_store.pending())
    if not chosen:
        typer.echo(f"no kept runs to import in {results_store.pending_dir}", err=True)
        return
    failed = 0
    for path in chosen:
        try:
            run_id = results_store.import_spill(path)
        except RareflowError as error:
            from rareflow.cli.main import report_error

            failed += 1
            report_error(error)
            continue
        typer.echo(f"stored run {run_id} from {path} in {results_store.path}")
    if failed:
        raise typer.Exit(EXIT_CHECK_FAILED if failed < len(chosen) else 2)


def runs(store: StoreOption = None, fmt: ShownOption = Shown.table) -> None:
    """List the runs in the results store, newest first."""
    frame = open_store(store).runs()
    if fmt is Shown.json:
        print_frame(
            frame.drop(columns=["scenario_json", "parameters"], errors="ignore"), Format.json
        )
        return
    if frame.empty:
        typer.echo("no runs stored yet; `rareflow run SCENARIO` makes one")
        return
    shown = frame[["run_id", "scenario", "started_at", "months", "draws"]].assign(
        started_at=frame["started_at"].astype(str).str[:16].str.replace("T", " "),
        residual=frame["mass_balance_max_residual"],
    )
    print_frame(shown, Format.table, title=f"stored runs ({open_store(store).path})")


def results(
    run_id: Annotated[str, typer.Argument(help="Run id (or a unique prefix).")],
    metric: Annotated[str | None, typer.Option("--metric", help="Only this metric.")] = None,
    fmt: Annotated[
        FileFormat | None,
        typer.Option("--format", help="csv, json or parquet; default: from --out, else csv."),
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write to this file.")] = None,
    store: StoreOption = None,
) -> None:
    """A stored run's tidy results (run_id, scenario, draw, month, region, ... value, unit)."""
    from rareflow.io.export import check_file_target, format_of, write_frame, write_frame_to

    if out is not None:
        check_file_target(out.expanduser())  # before reading: a directory is no output file
    frame = open_store(store).results(run_id, metric)
    chosen = fmt.value if fmt is not None else None
    if out is not None:
        write_frame(frame, out, format_of(out, chosen))
        typer.echo(f"wrote {len(frame):,} rows to {out}", err=True)
        return
    chosen = chosen or "csv"
    if chosen == "parquet":
        write_frame_to(frame, sys.stdout.buffer, "parquet")
        sys.stdout.buffer.flush()
    elif chosen == "json":
        print_frame(frame, Format.json)
    else:
        print_frame(frame, Format.csv)


def compare(
    run_a: Annotated[str, typer.Argument(help="The reference run (id or unique prefix).")],
    run_b: Annotated[str, typer.Argument(help="The run compared with it.")],
    store: StoreOption = None,
    fmt: Annotated[Format, typer.Option("--format", help="table, json or csv.")] = Format.table,
) -> None:
    """What changes from run A to run B: shortages, price peaks, China's exports."""
    from rareflow.analytics.compare import compare as compare_runs

    comparison = compare_runs(open_store(store), run_a, run_b)
    if fmt is Format.json:
        print_json(comparison.to_dict())
    elif fmt is Format.csv:
        comparison.to_frame().to_csv(sys.stdout, index=False)
    else:
        print_comparison(comparison)


def plot(
    run_id: Annotated[str, typer.Argument(help="Run id (or a unique prefix).")],
    metric: Annotated[str, typer.Option("--metric", help="e.g. shortage_share, price.")],
    out: Annotated[Path, typer.Option("--out", help="A .png or .html file.")],
    store: StoreOption = None,
) -> None:
    """Plot one metric of a run over time, one line per region (or product/market)."""
    from rareflow.analytics.plots import check_extension
    from rareflow.analytics.plots import plot as plot_frame

    check_extension(out)
    results_store = open_store(store)
    frame = results_store.results(run_id, metric)
    months = results_store.months(run_id)
    _check_plottable(run_id, months)
    plot_frame(frame, metric, out, months=months)
    typer.echo(f"wrote {out}")


LAST_PLOTTABLE = "2262-03"  # pandas' datetime64[ns] ends in April 2262


def _check_plottable(run_id: str, months: list[str]) -> None:
    """Charts put months on a datetime axis; say so instead of failing deep in pandas."""
    import re

    bad = [m for m in months if not re.fullmatch(r"\d{4}-\d{2}", m) or m > LAST_PLOTTABLE]
    if bad:
        from rareflow.errors import UserInputError

        raise UserInputError(
            "this run's months cannot be put on a chart's time axis",
            column="month",
            value=bad[0],
            expected=f"months up to {LAST_PLOTTABLE}",
            hint=f"`rareflow results {run_id}` still gives its numbers",
        )


def register(app: typer.Typer) -> None:
    app.command("scenarios")(scenarios)
    app.command("run")(run)
    app.command("import")(import_runs)
    app.command("runs")(runs)
    app.command("results")(results)
    app.command("compare")(compare)
    app.command("plot")(plot)
