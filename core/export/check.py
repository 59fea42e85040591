"""Checking a written file: read back by the importer and by pyarrow; what is reported, what blocks."""

from __future__ import annotations

import pandas as pd

from core import formats
from core.export.targets import OPENAI_FORMATS, file_extension
from core.export.uniform import pyarrow_problem
from core.export.write import WrittenFile, _getter, _problem_lines, write_split, written_rows


def check_file(name: str, data: bytes, fmt: str, rows: int) -> tuple[list[str], list[str]]:
    """Read a written file back; return (problems to report, problems that block the bundle).

    OpenAI and TRL formats are validated again with the importer: an error on a row, or a row
    count that differs from what was written, blocks; file-level findings (fewer than 10 examples in
    a small val / test file) are reported. JSONL files must load with pyarrow.
    """
    reported: list[str] = []
    blocking: list[str] = []
    if file_extension(fmt) == "jsonl":
        problem = pyarrow_problem(data)
        if problem and "/function/arguments" in problem and "changed from" in problem:
            # datasets (4.8+) reads tool-call arguments of several shapes as one Json column
            reported.append(
                f"{name}: tool-call arguments differ in type between rows ({problem}): {_JSON_NOTE}"
            )
        elif problem:
            blocking.append(f"{name}: pyarrow's JSON reader cannot load it: {problem}")
    if (fmt in OPENAI_FORMATS or fmt.startswith("trl-")) and rows:
        loaded = formats.load_dataset(data, name, format=fmt)
        row_errors = [p for p in loaded.problems if _getter(p)("severity") == "error" and _getter(p)("line")]
        others = [p for p in loaded.problems if not any(p is q for q in row_errors)]
        blocking.extend(f"{name}: {line}" for line in _problem_lines(row_errors))
        reported.extend(f"{name}: {line}" for line in _problem_lines(others))
        if len(loaded.records) != rows:
            blocking.append(f"{name}: {rows} rows written but {len(loaded.records)} read back as {fmt}")
    return reported, blocking


_JSON_NOTE = "datasets 4.8 or later reads them as a Json column, an older datasets cannot load the file"


def _written(frame: pd.DataFrame, split: str, fmt: str) -> WrittenFile:
    name = f"{fmt}/{split}.{file_extension(fmt)}"
    data, problems = write_split(frame, fmt)
    rows = written_rows(data, fmt)
    reported, blocking = check_file(name, data, fmt, rows)
    writer_errors = [f"{name}: {p}" for p in problems if p.startswith("error")]
    writer_notes = [f"{name}: {p}" for p in problems if not p.startswith("error")]
    return WrittenFile(
        name, data, rows, split, fmt, tuple(writer_notes + reported), tuple(writer_errors + blocking)
    )
