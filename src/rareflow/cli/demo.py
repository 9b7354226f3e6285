"""``rareflow demo``: the chain at a glance, then what happens if the October 2025 controls return.

1. World production at each stage of the chain and China's share of it (base year);
2. run ``baseline`` and ``reimpose-oct-2025``, store both;
3. print what changes between them (``rareflow compare``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from rareflow.cli.run import DataOption, StoreOption

if TYPE_CHECKING:
    import pandas as pd

    from rareflow.data.network import Network

SCENARIOS = ("baseline", "reimpose-oct-2025")
STAGES = ("mining", "separation", "heavy_separation", "metal", "magnet")


def chain_summary(network: Network) -> pd.DataFrame:
    """Per stage: world output (t/yr of activity), China's share, the largest producer."""
    import pandas as pd

    from rareflow.analytics.shares import stage_shares

    rows = []
    for stage in STAGES:
        shares = stage_shares(network, stage)
        china = shares.loc[shares["region"] == "CHN", "share"]
        top = shares.iloc[0]
        rows.append(
            {
                "stage": stage,
                "world t/yr": float(shares["tonnes"].sum()),
                "China": f"{100.0 * float(china.sum()):.0f}%",
                "largest": f"{top['region']} ({100.0 * float(top['share']):.0f}%)",
            }
        )
    return pd.DataFrame(rows)


def demo(data: DataOption = None, store: StoreOption = None) -> None:
    """The chain at a glance, then baseline vs the October 2025 controls returning."""
    from rareflow.analytics.compare import compare
    from rareflow.cli.output import print_table
    from rareflow.cli.run import open_store, print_comparison, simulate
    from rareflow.data.network import load_network
    from rareflow.scenarios.load import load_scenario

    network = load_network(data)
    scenarios = [load_scenario(name, network) for name in SCENARIOS]
    print_table(
        chain_summary(network),
        title=f"The rare-earth chain, {network.base_year}: world output and China's share",
        float_format="{:,.0f}",
    )
    results_store = open_store(store)
    run_ids = []
    for scenario in scenarios:
        result = simulate(scenario, network)
        run_ids.append(results_store.save(result))
        typer.echo(f"{scenario.name}: run {result.run_id} stored in {results_store.path}")
    print_comparison(compare(results_store, *run_ids))
    typer.echo(
        f"Next: rareflow compare {run_ids[0]} {run_ids[1]} --format json; "
        f"rareflow plot {run_ids[1]} --metric shortage_share --out shortage.html"
    )


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
