"""Errors a user can cause, and the exit codes scripts can rely on.

Exit codes: 0 success; 1 the check ran and found a problem (e.g. mass balance fails);
2 bad input from the user (file, field, value); 3 an internal invariant broke (a bug).
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3


def shorten(text: str, limit: int = 200) -> str:
    """A message part cut to ``limit`` characters: a value echoed back may be huge."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


class RareflowError(Exception):
    """Base class for errors rareflow reports without a traceback."""

    exit_code = EXIT_INTERNAL


class UserInputError(RareflowError):
    """Bad input from the user: names where it is, what it is and what was expected.

    Attributes mirror what the message says so that programs can read them too.
    """

    exit_code = EXIT_BAD_INPUT

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
        field: str | None = None,
        value: object = None,
        expected: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.file = file
        self.row = row
        self.column = column
        self.field = field  # a path in a nested document, e.g. policies[2].approval_share
        self.value = value.item() if hasattr(value, "item") else value  # numpy scalars
        self.expected = expected
        self.hint = hint
        self.message = message
        super().__init__(self.render())

    def render(self) -> str:
        where = []
        if self.file is not None:
            where.append(f"file {self.file}")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        if self.field is not None:
            where.append(f"field {self.field}")
        text = self.message
        if where:
            text = f"{', '.join(where)}: {text}"
        if self.value is not None:
            text += f" (got {shorten(repr(self.value))})"
        if self.expected:
            text += f"; expected {self.expected}"
        if self.hint:
            text += f". {self.hint}"
        return text

    def as_dict(self) -> dict[str, object]:
        return {
            "error": self.message,
            "file": self.file,
            "row": self.row,
            "column": self.column,
            "field": self.field,
            "value": None if self.value is None else str(self.value),
            "expected": self.expected,
            "hint": self.hint,
        }


class DataValidationError(UserInputError):
    """A dataset does not match its declared schema; carries every problem found."""

    def __init__(self, problems: list[UserInputError]) -> None:
        self.problems = problems
        first = problems[0]
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        super().__init__(
            first.message + more,
            file=first.file,
            row=first.row,
            column=first.column,
            value=first.value,
            expected=first.expected,
            hint=first.hint,
        )


class ScenarioError(UserInputError):
    """A problem in a scenario file, located by a field path; carries every problem found."""

    def __init__(self, message: str, **where: object) -> None:
        super().__init__(message, **where)  # type: ignore[arg-type]
        self.problems: list[UserInputError] = [self]


def did_you_mean(value: str, choices: list[str]) -> str | None:
    """A hint naming the closest choice, if one is close."""
    import difflib

    close = difflib.get_close_matches(value, choices, n=1)
    return f"Did you mean {close[0]!r}?" if close else None


class MassBalanceError(RareflowError):
    """The engine broke conservation of mass: a bug or a broken dataset, never a result."""

    exit_code = EXIT_INTERNAL


# -- optional parts ----------------------------------------------------------------------------
# Installed as extras so that the core install stays light: ``web`` (rareflow serve, the
# dashboard), ``dask`` (--executor dask) and ``economy`` (input-output tables read by pymrio).
EXTRAS: dict[str, tuple[str, ...]] = {  # extra -> the modules it provides
    "web": ("fastapi", "uvicorn", "swagger_ui"),
    "dask": ("dask", "distributed"),
    "economy": ("pymrio",),
}


def require_extra(extra: str, what: str) -> None:
    """A ``UserInputError`` (exit 2) when ``what`` (e.g. 'rareflow serve') lacks the packages
    of ``extra``, naming them and the ``pip install 'rareflow[EXTRA]'`` that brings them."""
    import importlib

    absent = []
    for module in EXTRAS[extra]:
        try:
            importlib.import_module(module)
        except ImportError:
            absent.append(module)
    if absent:
        raise UserInputError(
            f"{what} needs the optional package{'s' if len(absent) > 1 else ''} "
            f"{', '.join(absent)}, not installed",
            hint=f"Install them with: pip install 'rareflow[{extra}]'",
        )
