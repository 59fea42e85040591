"""The Quality step's workspace table: model scores of examples, kept by example id and model.

An example's id is derived from its content, so a score stays true for every version that holds
the same example: a version's scores are the rows for its ids (cached per version for free), and a
job stopped halfway resumes by scoring only the ids that have none.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from core.workspace import Workspace, now_iso

_SCHEMA = """
CREATE TABLE IF NOT EXISTS quality_perplexity (
    model TEXT NOT NULL,
    example_id TEXT NOT NULL,
    perplexity REAL NOT NULL,
    reply_perplexity REAL NOT NULL,
    reply_tokens INTEGER NOT NULL,
    scored_at TEXT NOT NULL,
    PRIMARY KEY (model, example_id)
);
"""


@dataclass(frozen=True)
class PerplexityScore:
    """The reply's perplexity after its prompt and alone, under one model, and their ratio (IFD)."""

    example_id: str
    perplexity: float  # of the reply given the prompt
    reply_perplexity: float  # of the reply alone
    reply_tokens: int

    @property
    def ifd(self) -> float:
        """Instruction-following difficulty: how little the prompt helps (>= 1: not at all)."""
        return self.perplexity / self.reply_perplexity if self.reply_perplexity else float("nan")


def save_perplexity(ws: Workspace, model: str, score: PerplexityScore) -> None:
    """Keep one example's score (replacing an older one)."""
    ws.ensure_schema(_SCHEMA)
    with ws.connect() as db:
        db.execute(
            "INSERT OR REPLACE INTO quality_perplexity VALUES (?, ?, ?, ?, ?, ?)",
            (
                model,
                score.example_id,
                score.perplexity,
                score.reply_perplexity,
                score.reply_tokens,
                now_iso(),
            ),
        )


def load_perplexity(ws: Workspace, model: str, ids: Iterable[str]) -> dict[str, PerplexityScore]:
    """The stored scores of ``ids`` under ``model``, by id (ids without one are left out)."""
    ws.ensure_schema(_SCHEMA)
    wanted = list(dict.fromkeys(ids))
    out: dict[str, PerplexityScore] = {}
    with ws.connect() as db:
        for start in range(0, len(wanted), 900):  # SQLite's bound-parameter limit
            chunk = wanted[start : start + 900]
            rows = db.execute(
                "SELECT example_id, perplexity, reply_perplexity, reply_tokens FROM quality_perplexity"
                f" WHERE model = ? AND example_id IN ({','.join('?' * len(chunk))})",
                (model, *chunk),
            ).fetchall()
            out.update({row[0]: PerplexityScore(row[0], row[1], row[2], row[3]) for row in rows})
    return out
