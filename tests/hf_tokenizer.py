"""A tiny local Hugging Face tokenizer for tests: written with the ``tokenizers`` library, nothing downloaded.

Word-level (one token per word or punctuation mark, unknown words are ``[UNK]``) with ChatML
markers as special tokens, and a small ChatML chat template in ``tokenizer_config.json``.
"""

import json
from pathlib import Path

SPECIAL = ["[UNK]", "<s>", "</s>", "<|im_start|>", "<|im_end|>"]
WORDS = ["user", "assistant", "system", "tool", "Hi", "Hello", "?", ".", "the", "answer", "is"]
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{{ message['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def write_tokenizer(folder: Path, *, template: str | None = CHAT_TEMPLATE) -> Path:
    """Write tokenizer.json and tokenizer_config.json into ``folder``; return ``folder``."""
    from tokenizers import Tokenizer, pre_tokenizers
    from tokenizers.models import WordLevel

    folder.mkdir(parents=True, exist_ok=True)
    vocab = {token: i for i, token in enumerate(SPECIAL + WORDS)}
    tokenizer = Tokenizer(WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.add_special_tokens(SPECIAL)
    tokenizer.save(str(folder / "tokenizer.json"))
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": "<s>",
        "eos_token": "</s>",
        "unk_token": "[UNK]",
        "pad_token": "</s>",
        "model_max_length": 4096,
    }
    if template is not None:
        config["chat_template"] = template
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    return folder
