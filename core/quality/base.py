"""What quality signals read (the text fields of a table, flattened) and what they report (flags).

Every string a person wrote into an example (each message's content, each side of a preference pair)
becomes one row of a :class:`Fields` table with the example it belongs to and where it sits
(``messages[2].content``, ``chosen[0].content``), so a signal runs once over one Arrow string array
(RE2 kernels in C++) and only the few fields that match come back to Python.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

_SIDES = ("messages", "chosen", "rejected")


@dataclass(frozen=True)
class Flag:
    """One finding: a stable code, the field and the span of text it is about, and why."""

    row: int  # position of the example in the table
    signal: str  # "heuristics" | "pii"
    code: str  # "refusal", "pii_email", ...
    field: str  # "messages[1].content"
    start: int
    end: int
    text: str  # the span itself
    reason: str


@dataclass(frozen=True)
class Fields:
    """Every string content of a table: its text, its example (row position), its place and role."""

    text: pa.Array  # large_string
    row: np.ndarray  # int64 position of the example in the table
    field: list[str]  # "messages[1].content"
    role: list[str]

    def __len__(self) -> int:
        return len(self.field)

    def texts(self, indices: np.ndarray) -> list[str]:
        """The Python strings of the fields at ``indices`` (only those: the rest stay in Arrow)."""
        return [str(v) for v in self.text.take(pa.array(indices, type=pa.int64())).to_pylist()]


def fields_of(frame: pd.DataFrame) -> Fields:
    """Flatten the string contents of ``frame``'s messages, chosen and rejected sides."""
    texts: list[str] = []
    rows: list[int] = []
    names: list[str] = []
    roles: list[str] = []
    present = [side for side in _SIDES if side in frame.columns]
    labels: dict[tuple[str, int], str] = {}  # one string per place, shared by every example
    for position, sides in enumerate(zip(*(frame[side].tolist() for side in present), strict=True)):
        for side, messages in zip(present, sides, strict=True):
            if not isinstance(messages, list):
                continue
            for index, message in enumerate(messages):
                if not isinstance(message, dict):
                    continue
                text = message.get("content")
                if isinstance(text, str):
                    name = labels.get((side, index))
                    if name is None:
                        name = labels[side, index] = f"{side}[{index}].content"
                    texts.append(text)
                    rows.append(position)
                    names.append(name)
                    roles.append(str(message.get("role") or ""))
    return Fields(pa.array(texts, type=pa.large_string()), np.asarray(rows, dtype=np.int64), names, roles)


def set_content(frame: pd.DataFrame, position: int, field: str, text: str) -> None:
    """Write ``text`` into the content named by ``field`` of the example at ``position`` (in place)."""
    side, rest = field.split("[", 1)
    index = int(rest.split("]", 1)[0])
    messages = [dict(m) for m in frame[side].iloc[position]]
    messages[index]["content"] = text
    frame.at[frame.index[position], side] = messages
