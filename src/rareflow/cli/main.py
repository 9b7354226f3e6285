"""The ``rareflow`` command. Sub-command modules are imported lazily so ``--help`` is fast."""

from __future__ import annotations

import sys

import typer

from rareflow.errors import EXIT_BAD_INPUT, EXIT_INTERNAL, RareflowError, UserInputError

app = typer.Typer(
    name="rareflow",
    help="Simulate rare-earth supply chains under trade policy.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


_registered = False


def _version(value: bool) -> None:
    if value:
        from rareflow.version import __version__

        typer.echo(f"rareflow {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Simulate rare-earth supply chains under trade policy."""


def _register() -> None:
    global _registered
    if _registered:
        return
    _registered = True
    from rareflow.cli import (
        data,
        deals,
        demo,
        economy,
        exposure,
        hindcast,
        history,
        risk,
        run,
        serve,
        uncertainty,
    )

    app.add_typer(data.app, name="data")
    run.register(app)
    uncertainty.register(app)
    demo.register(app)
    app.add_typer(risk.app, name="risk")
    exposure.register(app)
    history.register(app)
    hindcast.register(app)  # and ``report hindcast`` in history's report group
    serve.register(app)
    economy.register(app)
    deals.register(app)


def report_error(error: RareflowError) -> int:
    from rich.markup import escape

    from rareflow.cli.output import console_err

    console = console_err()
    internal = error.exit_code == EXIT_INTERNAL and not isinstance(error, UserInputError)
    kind = "internal error" if internal else "error"
    console.print(f"[bold red]{kind}:[/] {escape(str(error))}", highlight=False, soft_wrap=True)
    problems = getattr(error, "problems", None)
    if problems and len(problems) > 1:
        for problem in problems[1:20]:
            console.print(f"  - {problem}", markup=False, highlight=False, soft_wrap=True)
        if len(problems) > 20:
            console.print(f"  ... and {len(problems) - 20} more", markup=False)
    return error.exit_code


def cli(argv: list[str] | None = None) -> int:
    """Run the command line and return its exit code (tests call this directly)."""
    _register()
    try:
        code = app(args=argv, standalone_mode=False)
    except RareflowError as error:
        return report_error(error)
    except typer.Abort:
        return 1
    except typer.TyperException as exc:  # usage errors: unknown option, bad value
        show = getattr(exc, "show", None)
        if show is not None:
            show()
        else:
            sys.stderr.write(f"error: {exc}\n")
        return EXIT_BAD_INPUT
    return code if isinstance(code, int) else 0


def main() -> None:
    sys.exit(cli(sys.argv[1:]))


if __name__ == "__main__":
    main()
