"""Semantic similarity: rows that say the same thing in other words, found offline.

:mod:`core.semantic.model` embeds texts with a static table distilled from all-MiniLM-L6-v2 (shipped in
this package, nothing is downloaded); :mod:`core.semantic.index` finds every pair of embeddings at or
above a cosine; :mod:`core.semantic.embedding` is the one way a set of texts is embedded for comparison (its
minority languages' function words, :mod:`core.semantic.function_words`, then its common direction
taken out); :mod:`core.semantic.pairs` embeds a dataset's
rows under a dedup scope and lists the pairs that either method (semantic cosine, lexical Jaccard)
links, for the Dedup page, ``python -m core dedup --method`` and ``python -m core leakage``.
"""

METHODS = ("semantic", "lexical", "both")  # what links a pair: embeddings' cosine, shingles' Jaccard, either
DEFAULT_COSINE = 0.85
"""The app's and the CLI's cosine threshold (bench/semantic.py shows precision and recall around it)."""
DEFAULT_JACCARD = 0.8
"""The shingle Jaccard at which two rows are near copies (the Dedup step's default)."""
