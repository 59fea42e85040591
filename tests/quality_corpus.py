"""Planted data for the quality signals: every code in several languages, and look-alikes that must pass.

``planted(seed)`` returns ``(record, codes)`` pairs: a canonical record and the set of codes its
reply must be flagged with (empty for a look-alike). Random parts (secrets, filler words) come from
a seeded generator, so every run plants the same data; ``python tests/quality_corpus.py N`` prints N
rows of it as OpenAI chat JSONL (the bench reads that).
"""

from __future__ import annotations

import json
import random
import string
import sys
from typing import Any

from core import records

_FILLER = [
    "the",
    "account",
    "settings",
    "page",
    "lets",
    "you",
    "change",
    "the",
    "billing",
    "address",
    "and",
    "the",
    "delivery",
    "preferences",
    "for",
    "every",
    "order",
    "placed",
    "after",
    "the",
    "first",
    "of",
    "the",
    "month",
    "without",
    "calling",
    "support",
]


def _secret(rng: random.Random, n: int) -> str:
    alphabet = string.ascii_letters + string.digits
    while True:
        token = "".join(rng.choice(alphabet) for _ in range(n))
        if (
            any(c.isdigit() for c in token)
            and any(c.isupper() for c in token)
            and any(c.islower() for c in token)
        ):
            return token


def _cases(rng: random.Random) -> list[tuple[str, str, str | None, set[str]]]:
    """(prompt, reply, system, expected codes)."""
    long_words = " ".join(rng.choice(_FILLER) for _ in range(30))
    return [
        # PII and secrets, several languages
        (
            "¿Cómo pido el reembolso?",
            "Escriba a maria.lopez@correo.es y le devolvemos el importe.",
            None,
            {"pii_email"},
        ),
        (
            "How do I reach you?",
            "Call our London desk on +44 20 7946 0958 during office hours.",
            None,
            {"pii_phone"},
        ),
        (
            "Wie erreiche ich Sie?",
            "Rufen Sie uns unter +49 30 901820 an, wir helfen gern.",
            None,
            {"pii_phone"},
        ),
        (
            "Which card did I use?",
            "The card on file is 4111 1111 1111 1111, expiring next year.",
            None,
            {"pii_credit_card"},
        ),
        ("Card?", "We charged the Mastercard 5500-0000-0000-0004 for this order.", None, {"pii_credit_card"}),
        (
            "Wohin überweise ich?",
            "Bitte überweisen Sie auf DE89 3704 0044 0532 0130 00 bis Freitag.",
            None,
            {"pii_iban"},
        ),
        (
            "Bank details?",
            "Pay into GB82 WEST 1234 5698 7654 32 with the invoice number.",
            None,
            {"pii_iban"},
        ),
        ("Where is the server?", "It answers on 81.2.69.160 from the data centre.", None, {"pii_ip"}),
        ("IPv6?", "Its address is 2a00:1450:4009:81f::200e on the new network.", None, {"pii_ip"}),
        (
            "My AWS key?",
            "Your access key id is AKIAIOSFODNN7EXAMPLE, keep it private.",
            None,
            {"secret_api_key"},
        ),
        ("Token?", f"Use ghp_{_secret(rng, 36)} to push to the repository.", None, {"secret_api_key"}),
        (
            "OpenAI key?",
            f"Set OPENAI_API_KEY=sk-proj-{_secret(rng, 48)} in your shell.",
            None,
            {"secret_api_key"},
        ),
        (
            "Secret?",
            f"The webhook secret is {_secret(rng, 40)} and it rotates monthly.",
            None,
            {"secret_api_key"},
        ),
        # heuristics
        ("What is the refund policy?", "", None, {"empty_response"}),
        ("What is the refund policy?", "TODO", None, {"empty_response"}),
        ("Summarise the order.", "[insert answer here]", None, {"empty_response"}),
        (
            "Write a poem.",
            "As an AI language model, I cannot write poems about real people.",
            None,
            {"refusal"},
        ),
        ("¿Me ayudas con esto?", "Lo siento, pero no puedo ayudarte con eso.", None, {"refusal"}),
        ("Explain the fee.", f"The fee covers {long_words} and the", None, {"truncated_response"}),
        (
            "Show the code.",
            "Here it is:\n```python\nfor item in items:\n    print(item)",
            None,
            {"truncated_response"},
        ),
        (
            "Please reset my password for the account linked to this address today.",
            "Please reset my password for the account linked to this address today.",
            None,
            {"echo_response"},
        ),
        ("List the steps.", "\n".join(["Open the settings page and click save."] * 12), None, {"repetition"}),
        ("Symbols?", "@@@ ### $$$ %%% ^^^ &&& *** ~~~ ||| @@@ ### $$$", None, {"special_characters"}),
        ("Status?", "Thanks\u200b for waiting, your order shipped.", None, {"non_printing"}),
        ("What is 2+2?", "Sure! The answer is 4.", "Reply with valid JSON only.", {"invalid_json_response"}),
        (
            "¿Cómo cambio la dirección de envío de mi pedido?",
            "You can change the delivery address from the orders page until the parcel ships.",
            None,
            {"language_mismatch"},
        ),
        (
            "Wie kann ich meine Bestellung stornieren?",
            "Vous pouvez annuler la commande depuis la page des commandes pendant vingt-quatre heures.",
            None,
            {"language_mismatch"},
        ),
        (
            "How long does the delivery to Madrid take?",
            "El envío a Madrid tarda entre dos y tres días laborables desde la confirmación.",
            None,
            {"language_mismatch"},
        ),
        # look-alikes: none of these is a finding
        (
            "Order status?",
            "Order ORD-2024-118823 shipped on 2024-03-15; app version 1.2.3.4 fixes the bug.",
            None,
            set(),
        ),
        (
            "Opening hours?",
            "We are open Monday to Friday, 9:00-17:00, and on 24.12.2024 until noon.",
            None,
            set(),
        ),
        ("Show the code.", "```python\ndef f(x):\n    return {x: [1, 2]}\n```", None, set()),
        (
            "Checksum?",
            "The SHA-256 is 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08.",
            None,
            set(),
        ),
        ("Request id?", "Your request id is 123e4567-e89b-12d3-a456-426614174000, quote it.", None, set()),
        ("ISBN?", "The ISBN is 978-3-16-148410-0 and the price is $1,299.00.", None, set()),
        ("What is 2+2?", '{"answer": 4}', "Reply with valid JSON only.", set()),
        (
            "Explain JSON.",
            "JSON is a text format for data; objects use braces.",
            "You explain file formats.",
            set(),
        ),
        ("Router?", "Open 192.168.1.1 in the browser; the printer is on 10.0.0.7.", None, set()),
        ("Versions?", "Upgrade from release 10.0.0.1 to 10.0.0.2 before Friday.", None, set()),
        ("Short?", "Yes", None, set()),
        ("Quote?", 'He said: "we will ship it tomorrow"', None, set()),
        ("中文?", "您好，我们会在两个工作日内发货。", None, set()),
        ("Refusal look-alike?", "I cannot wait to help you set up the new router; here is how.", None, set()),
        ("Phone-like?", "Reference 2024 0315 1030 is your appointment slot.", None, set()),
        # language look-alikes: a translation, an answer in the language the system asks for, code
        (
            "Translate into French: the parcel will arrive tomorrow morning.",
            "Le colis arrivera demain matin.",
            None,
            set(),
        ),
        (
            "¿Cuánto tarda el reembolso en llegar a mi cuenta?",
            "Refunds reach your account within five working days of the return being received.",
            "You are a support agent. Always answer in English.",
            set(),
        ),
        (
            "Escribe una función que sume dos números en Python.",
            "```python\ndef add(first_number, second_number):\n    return first_number + second_number\n```",
            None,
            set(),
        ),
        ("Wie kann ich mein Passwort ändern?", "OK", None, set()),
    ]


def planted(seed: int = 0) -> list[tuple[dict[str, Any], set[str]]]:
    """Every planted case as a canonical record with the codes expected on it."""
    rng = random.Random(seed)
    out = []
    for prompt, reply, system, codes in _cases(rng):
        messages = ([{"role": "system", "content": system}] if system else []) + [
            {"role": "user", "content": prompt},
            {"role": "assistant", "content": reply},
        ]
        out.append(
            (
                records.make_record("sft", messages, source_format="openai-sft", source_line=len(out) + 1),
                codes,
            )
        )
    return out


def main() -> None:
    """Print ``N`` rows (the planted cases repeated, varied by a counter) as OpenAI chat JSONL."""
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    cases = planted()
    for i in range(n):
        record, _codes = cases[i % len(cases)]
        messages = [dict(m) for m in record["messages"]]
        messages[-2]["content"] += f" (ticket {i})"
        sys.stdout.write(json.dumps({"messages": messages}, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
