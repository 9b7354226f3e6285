"""Reading and writing dataset directories: one CSV or Parquet file per table.

Reading never guesses: a missing table, an empty file or a file that is not UTF-8 is a
``UserInputError`` naming the file. Types are checked later, by ``validate``, against the schema;
here every CSV column is read as text so that a bad value is reported as the user wrote it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd

from rareflow.data.schema import TABLES
from rareflow.errors import UserInputError

FORMATS = ("csv", "parquet")


def table_file(directory: Path, name: str) -> Path | None:
    for suffix in FORMATS:
        path = directory / f"{name}.{suffix}"
        if path.exists():
            return path
    return None


MAX_TABLE_BYTES = 512 * 2**20  # assumption: ~4000x the largest bundled table (136 kB); a bound


def check_table_file(path: Path) -> None:
    """Refuse what is not a regular file of bounded size (a directory, a device such as
    /dev/zero behind a symlink, a pipe), before reading a byte of it."""
    import stat

    try:
        info = path.stat()  # follows symlinks: the file actually read
    except OSError as exc:
        raise UserInputError(
            f"cannot read the table: {exc.strerror or exc}", file=str(path)
        ) from None
    if not stat.S_ISREG(info.st_mode):
        kind = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        raise UserInputError(
            f"the table is {kind}", file=str(path), expected="a CSV or Parquet file"
        )
    if info.st_size > MAX_TABLE_BYTES:
        raise UserInputError(
            "the table file is too large",
            file=str(path),
            value=f"{info.st_size:,} bytes",
            expected=f"at most {MAX_TABLE_BYTES:,} bytes",
        )


def read_table(path: Path) -> pd.DataFrame:
    """One table file as a frame of strings (CSV) or typed columns (Parquet)."""
    check_table_file(path)
    if path.suffix == ".parquet":
        try:
            return pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several types for a broken file
            raise UserInputError(
                f"cannot read Parquet: {exc}", file=str(path), hint="Re-export the table."
            ) from None
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UserInputError(
            f"cannot read the table: {exc.strerror or exc}", file=str(path)
        ) from None
    if not raw.strip():
        raise UserInputError(
            "the file is empty",
            file=str(path),
            expected="a header row with the table's columns and at least one data row",
        )
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserInputError(
            f"the file is not UTF-8 (byte {raw[exc.start]:#x} at offset {exc.start})",
            file=str(path),
            hint="Save it as UTF-8 (e.g. in a spreadsheet: 'CSV UTF-8').",
        ) from None
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except pd.errors.ParserError as exc:
        raise UserInputError(f"malformed CSV: {exc}", file=str(path)) from None


def read_tables(directory: Path) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """Every schema table from ``directory``; returns (tables, file path per table)."""
    if not directory.is_dir():
        raise UserInputError(
            "dataset directory not found",
            file=str(directory),
            hint="Pass --data DIR with one CSV or Parquet file per table "
            "(`rareflow data export DIR` writes a template).",
        )
    tables: dict[str, pd.DataFrame] = {}
    files: dict[str, str] = {}
    for name in TABLES:
        path = table_file(directory, name)
        if path is None and TABLES[name].optional:
            continue  # validation fills it in empty
        if path is None:
            raise UserInputError(
                f"table '{name}' is missing",
                file=str(directory / f"{name}.csv"),
                expected=f"{name}.csv or {name}.parquet in {directory}",
            )
        tables[name] = read_table(path)
        files[name] = str(path)
    return tables, files


def write_tables(tables: dict[str, pd.DataFrame], directory: Path, fmt: str = "csv") -> list[Path]:
    """Write every table atomically (temp file, then rename); returns the paths written."""
    if fmt not in FORMATS:
        raise UserInputError("unknown format", value=fmt, expected=" or ".join(FORMATS))
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in tables.items():
        path = directory / f"{name}.{fmt}"
        write_atomic(frame, path, fmt)
        written.append(path)
    return written


def write_atomic(frame: pd.DataFrame, path: Path, fmt: str) -> None:
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        if fmt == "parquet":
            frame.to_parquet(tmp, index=False)
        else:
            frame.to_csv(tmp, index=False, lineterminator="\n")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
