"""The vectorised kernel of :mod:`core.similarity`: shingle hashes, MinHash signatures, LSH bands.

The batch path never loops over words in Python. A batch of texts is encoded to one
UTF-8 byte array; words are the runs of bytes that are not ASCII whitespace; each word
is hashed by reading it as little-endian 8-byte chunks (an unaligned ``uint64`` view of
the byte array) and mixing them with a seeded 64-bit finaliser; word n-gram shingles are
position-weighted sums of word hashes, mixed again. Texts written mostly in a script
without spaces between words (Chinese, Japanese, Korean, Thai, Lao, Khmer, Myanmar,
Tibetan) are shingled by character n-grams instead (a Python path; such texts are rare).

Signatures are *one permutation hashing* with rotation densification (Shrivastava & Li,
ICML 2014): each shingle hash picks one of ``num_perm`` bins by its low bits and competes
for that bin's minimum with its high 32 bits; empty bins borrow the next non-empty bin's
value, offset by the distance. Each bin collides with probability equal to the Jaccard
similarity, like a classic MinHash permutation, but costs one hash per shingle instead
of ``num_perm``. Candidates from the bands are always verified by the true Jaccard of
the shingle sets, so the estimator only has to find them.
"""

from core._minhash.batch import (
    choose_bands,
    concat_outputs,
    join_parts,
    process_batch,
    process_parts,
    signatures,
)
from core._minhash.pairs import (
    bucket_pairs,
    candidate_pairs,
    pair_jaccard,
    sorted_unique,
    unique_sets,
    verify_pairs,
)
from core._minhash.shingles import (
    BatchOutput,
    EngineParams,
    mix64,
    normalise,
    reference_shingles,
    uses_char_ngrams,
)
from core._minhash.workers import Cancelled, give_back_freed_arrays, join_outputs, run_batches, run_stream

__all__ = [
    "BatchOutput",
    "Cancelled",
    "EngineParams",
    "bucket_pairs",
    "candidate_pairs",
    "choose_bands",
    "concat_outputs",
    "give_back_freed_arrays",
    "join_outputs",
    "join_parts",
    "mix64",
    "normalise",
    "pair_jaccard",
    "process_batch",
    "process_parts",
    "reference_shingles",
    "run_batches",
    "run_stream",
    "signatures",
    "sorted_unique",
    "unique_sets",
    "uses_char_ngrams",
    "verify_pairs",
]
