"""``rareflow deals list|evaluate|frontier``: deal packages, who gives and who gets.

Heavy modules (pandas, the engine, plotly) are imported inside the commands.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from rareflow.cli.output import Format, print_frame, print_json, working

app = typer.Typer(help="Deal packages: evaluate a deal, or its frontier.", no_args_is_help=True)


class Shown(StrEnum):
    table = "table"
    json = "json"


ShownOption = Annotated[Shown, typer.Option("--format", help="table or json.")]
AgainstOption = Annotated[
    str | None,
    typer.Option(help="Scenario the deal changes (default: the deal's own, e.g. history)."),
]
DealArgument = Annotated[str, typer.Argument(help="A bundled deal name or a deal YAML file.")]


@app.command("list")
def list_deals(fmt: ShownOption = Shown.table) -> None:
    """The bundled deals."""
    import pandas as pd

    from rareflow.deals.model import load_bundled

    deals = load_bundled()
    frame = pd.DataFrame(
        [{"deal": d.name, "start": d.start, "months": d.months, "parties": ", ".join(d.parties),
          "terms": len(d.terms), "description": d.description} for d in deals]
    )  # fmt: skip
    if fmt is Shown.json:
        print_frame(frame, Format.json)
        return
    frame["description"] = frame["description"].str.slice(0, 60)
    print_frame(frame, Format.table, title="bundled deals")


@app.command("evaluate")
def evaluate(
    deal: DealArgument, against: AgainstOption = None, fmt: ShownOption = Shown.table
) -> None:
    """Per party: value lost avoided, China's exports and revenue, leverage, flows restored
    against the pre-April-2025 baseline, the deal against its no-deal arm."""
    from rareflow.deals.evaluate import evaluate as run_evaluate

    with working(f"running {deal}: the no-deal and deal arms"):
        result = run_evaluate(deal, against)
    if fmt is Shown.json:
        print_json(result)
        return
    print_report(result)


def print_report(result: dict[str, Any]) -> None:
    import pandas as pd

    first, last = result["months"]
    title = f"{result['deal']} against {result['against']}, {first}..{last}"
    parties = pd.DataFrame(
        [{"party": p["party"], "payoff_usd": p["payoff_usd"],
          "lost_avoided_usd": sum(p["value_lost_avoided_usd"].values()),
          "revenue_usd": p["export_revenue_gained_usd"],
          "external_usd": p["external_value_received_usd"],
          "deferred_avoided_usd": sum(p["value_deferred_avoided_usd"].values())}
         for p in result["parties"]]
    )  # fmt: skip
    print_frame(parties, Format.table, title=f"{title}: per party", formats=_formats(parties))
    china = pd.DataFrame(
        [{"arm": arm, "exports_tonnes": v["export_tonnes"], "revenue_usd": v["export_revenue_usd"],
          "leverage_share": result["leverage"][arm]}
         for arm, v in result["china"].items()]
    )  # fmt: skip
    print_frame(china, Format.table, title="China's exports; leverage", formats=_formats(china))
    print_frame(restored_table(result), Format.table,
                title="flows restored (share of pre-April-2025 monthly tonnes)")  # fmt: skip
    for term in result["external_terms"]:
        print(f"not simulated: {term['party']} -> {term['to']}: {term['what']} "
              f"(value given: {term['value_usd']:,.0f} USD)")  # fmt: skip
    for note in result["precedence"]:
        print(f"precedence: {note}")


def _formats(frame: Any) -> dict[str, Any]:
    from rareflow.cli.output import unit_formats

    return unit_formats(frame.columns)


def restored_table(result: dict[str, Any]) -> Any:
    """Per destination: the deal arm's share in its first, middle and last month, and both
    arms' means."""
    import pandas as pd

    frame = pd.DataFrame(result["flows_restored"])
    months = sorted(frame["month"].unique())
    picks = [months[0], months[len(months) // 2], months[-1]]
    rows = []
    for dest, g in frame.groupby("destination", sort=False):
        by = g.set_index("month")
        rows.append({"destination": dest, **{m: by.loc[m, "deal"] for m in picks},
                     "mean_deal": g["deal"].mean(), "mean_no_deal": g["no_deal"].mean()})  # fmt: skip
    return pd.DataFrame(rows).round(3)


@app.command("frontier")
def frontier(
    deal: DealArgument,
    grid: Annotated[
        list[str],
        typer.Option("--grid", help="ID.ATTRIBUTE=LO:HI:N or =A,B,C; repeat for more axes."),
    ],
    disagreement: Annotated[
        str | None, typer.Option(help="Disagreement payoffs, PARTY=USD,... (default 0 each).")
    ] = None,
    plot: Annotated[Path, typer.Option(help="Plot file (plotly HTML, offline).")] = Path(
        "deal-frontier.html"
    ),
    against: AgainstOption = None,
    fmt: ShownOption = Shown.table,
) -> None:
    """Concession levels over a grid, run as one batch: the Pareto frontier of the parties'
    payoffs and the Nash bargaining point."""
    import pandas as pd

    from rareflow.deals.frontier import frontier as run_frontier
    from rareflow.deals.frontier import write_plot

    given = _disagreement(disagreement)
    with working(f"running {deal}'s grid as one batch of draws"):
        result = run_frontier(deal, grid, given, against)
    path = write_plot(result, plot)
    rows = result.rows()
    if fmt is Shown.json:
        print_json({"deal": result.arms.deal.name, "plot": str(path), "points": rows,
                    "disagreement": dict(zip(result.parties, result.disagreement.tolist(),
                                             strict=True))})  # fmt: skip
        return
    frame = pd.DataFrame([r for r in rows if r["pareto"] or r["nash"]])
    frame["point"] = ["Nash" if nash else "frontier" for nash in frame["nash"]]
    frame = frame.drop(columns=["pareto", "nash"]).rename(
        columns=lambda c: c.replace("_payoff_usd", "_usd").split(".")[-1]
    )
    print_frame(frame, Format.table, title=f"{len(rows)} points; Pareto frontier and Nash point",
                formats=_formats(frame))  # fmt: skip
    print(f"plot: {path}")


def _disagreement(text: str | None) -> dict[str, float]:
    from rareflow.errors import UserInputError

    out: dict[str, float] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        party, _, value = part.partition("=")
        try:
            out[party.strip()] = float(value)
        except ValueError:
            raise UserInputError(
                "not a payoff", column="--disagreement", value=part, expected="PARTY=USD"
            ) from None
    return out


def register(main: typer.Typer) -> None:
    main.add_typer(app, name="deals")
