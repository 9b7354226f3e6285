"""The ``rareflow`` command. Sub-command modules are imported lazily so ``--help`` is fast."""

from __future__ import annotations

import sys

import typer

from rareflow.errors import EXIT_BAD_INPUT, RareflowError, UserInputError

app = typer.Typer(
    name="rareflow",
    help="Simulate rare-earth supply chains under trade policy.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


_registered = False


def _register() -> None:
    global _registered
    if _registered:
        return
    _registered = True
    from rareflow.cli import data, demo, run

    app.add_typer(data.app, name="data")
    run.register(app)
    demo.register(app)
    try:  # risk analytics land separately; absent until then
        from rareflow.cli import risk
    except ImportError:
        return
    app.add_typer(risk.app, name="risk")


def report_error(error: RareflowError) -> int:
    from rareflow.cli.output import console_err

    console = console_err()
    kind = "error" if isinstance(error, UserInputError) else "internal error"
    console.print(f"[bold red]{kind}:[/] {error}", markup=True, highlight=False)
    problems = getattr(error, "problems", None)
    if problems and len(problems) > 1:
        for problem in problems[1:20]:
            console.print(f"  - {problem}", markup=False, highlight=False)
        if len(problems) > 20:
            console.print(f"  ... and {len(problems) - 20} more", markup=False)
    return error.exit_code


def cli(argv: list[str] | None = None) -> int:
    """Run the command line and return its exit code (tests call this directly)."""
    import click

    _register()
    try:
        code = app(args=argv, standalone_mode=False)
    except RareflowError as error:
        return report_error(error)
    except click.exceptions.Abort:
        return 1
    except click.exceptions.ClickException as exc:  # usage errors: unknown option, bad choice
        exc.show()
        return EXIT_BAD_INPUT
    return code if isinstance(code, int) else 0


def main() -> None:
    sys.exit(cli(sys.argv[1:]))


if __name__ == "__main__":
    main()
