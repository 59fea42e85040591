"""Semantic leaks of a split: val or test rows whose near-paraphrase is in train, and their fix.

The split keeps copies and near copies (shingle Jaccard) on one side; a row restated in other words
shares few shingles and can land in train while its original is tested. :func:`find_leaks` lists
those pairs (embedding cosine >= the threshold, :func:`core.semantic.pairs.leakage_pairs`), and
:func:`fix_leaks` repairs the split before the bundle is built: ``move`` puts the train row in the
split of its paraphrase (the pair then sits on one side, as the split does for near copies), ``drop``
leaves it out of the bundle. A locked split takes no new rows: a move into it becomes a drop.
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from core.semantic.pairs import PairSettings, leakage_pairs

HELD_OUT = ("test", "val")
"""The splits checked against train, in the order a train row leaking to both is moved to."""
LEAK_FIXES = ("move", "drop")


@dataclasses.dataclass(frozen=True)
class SemanticLeak:
    """A train row and a held-out row that say the same thing.

    Attributes:
        split: The held-out split (``val`` or ``test``).
        train_row: Position of the row in the train split.
        other_row: Position of the row in ``split``.
        train_id: The train row's id.
        other_id: The held-out row's id.
        cosine: Cosine of the two embeddings.
        jaccard: Jaccard of their word shingles.
    """

    split: str
    train_row: int
    other_row: int
    train_id: str
    other_id: str
    cosine: float
    jaccard: float


@dataclasses.dataclass(frozen=True)
class LeakFix:
    """The split after a fix: its parts, and the train rows moved (id -> split) or dropped (id -> why)."""

    parts: dict[str, pd.DataFrame]
    moved: dict[str, str]
    dropped: dict[str, str]


def find_leaks(parts: dict[str, pd.DataFrame], settings: PairSettings) -> list[SemanticLeak]:
    """Return every (train row, held-out row) pair at or above ``settings.cosine``, test first.

    Args:
        parts: The split, ``train`` and any of :data:`HELD_OUT`.
        settings: Scope and cosine of the comparison (its method is taken as ``semantic``).
    """
    semantic = dataclasses.replace(settings, method="semantic")
    train = parts["train"]
    leaks = []
    for name in HELD_OUT:
        other = parts.get(name)
        if other is None or other.empty or train.empty:
            continue
        for pair in leakage_pairs(train, other, semantic):
            leaks.append(
                SemanticLeak(
                    name, pair.a, pair.b, _id(train, pair.a), _id(other, pair.b), pair.cosine, pair.jaccard
                )
            )
    return leaks


def leaks_frame(leaks: list[SemanticLeak], parts: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Return one row per leak with both prompts, for the Split page's table."""
    return pd.DataFrame(
        [
            {
                "split": leak.split,
                "held-out id": leak.other_id,
                "held-out prompt": _prompt(parts[leak.split], leak.other_row),
                "train id": leak.train_id,
                "train prompt": _prompt(parts["train"], leak.train_row),
                "cosine": round(leak.cosine, 3),
                "Jaccard": round(leak.jaccard, 3),
            }
            for leak in leaks
        ],
        columns=["split", "held-out id", "held-out prompt", "train id", "train prompt", "cosine", "Jaccard"],
    )


def fix_leaks(
    parts: dict[str, pd.DataFrame], leaks: list[SemanticLeak], fix: str, *, locked: tuple[str, ...] = ()
) -> LeakFix:
    """Return the split with each leaking train row moved beside its paraphrase or dropped.

    Args:
        parts: The split the leaks were found in.
        leaks: :func:`find_leaks` of ``parts``.
        fix: ``move`` or ``drop``.
        locked: Splits that take no new rows (the locked test set): a move into one is a drop.

    Raises:
        ValueError: If ``fix`` is not one of :data:`LEAK_FIXES`.
    """
    if fix not in LEAK_FIXES:
        raise ValueError(f"fix must be one of {LEAK_FIXES}, got {fix!r}")
    target: dict[int, str] = {}
    for leak in leaks:  # test leaks come first: a row leaking to both goes to test
        target.setdefault(leak.train_row, leak.split)
    train = parts["train"]
    moved: dict[str, str] = {}
    dropped: dict[str, str] = {}
    into: dict[str, list[int]] = {}
    for row, split in target.items():
        leak = next(item for item in leaks if item.train_row == row and item.split == split)
        if fix == "move" and split not in locked:
            moved[_id(train, row)] = split
            into.setdefault(split, []).append(row)
        else:
            why = f"paraphrase of {split} row {leak.other_id} (cosine {leak.cosine:.2f})"
            dropped[_id(train, row)] = why + (" in the locked test set" if split in locked else "")
    fixed = dict(parts)
    staying = [row for row in range(len(train)) if row not in target]
    fixed["train"] = train.iloc[staying].reset_index(drop=True)
    for split, rows in into.items():
        fixed[split] = pd.concat([parts[split], train.iloc[sorted(rows)]], ignore_index=True)
    return LeakFix(fixed, moved, dropped)


def _id(frame: pd.DataFrame, row: int) -> str:
    return str(frame["id"].iloc[row]) if "id" in frame.columns else str(row)


def _prompt(frame: pd.DataFrame, row: int) -> str:
    text = frame["prompt_text"].iloc[row] if "prompt_text" in frame.columns else ""
    return str(text or "")[:300]
