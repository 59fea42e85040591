"""PII and secrets in the text of examples: e-mail, phone, card, IBAN, IP address, API keys and tokens.

Each kind is found in two steps. A loose RE2 pattern runs over every field at once
(``pyarrow.compute.match_substring_regex``, in C++), so a clean field costs a fraction of a
microsecond; then only the fields it picked are read in Python, where each candidate is checked
by the library that knows the kind: ``phonenumbers`` (Google's libphonenumber) for phone numbers,
``python-stdnum`` for the Luhn check of cards and the ISO 13616 check of IBANs, ``ipaddress`` for
addresses, and ``detect-secrets``' own provider patterns (AWS, GitHub, GitLab, Slack, Stripe,
OpenAI, PyPI, SendGrid, private keys, ...) for secrets. Written here: what no library covers
(current OpenAI / Anthropic / Google / Hugging Face key shapes, high-entropy tokens), and the
look-alikes that must not be flagged (dates, version strings, order numbers, hashes).
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections import Counter
from collections.abc import Callable, Iterator
from functools import cache

import numpy as np
import pyarrow.compute as pc

from core.quality.base import Fields, Flag

PLACEHOLDERS = {
    "pii_email": "[EMAIL]",
    "pii_phone": "[PHONE]",
    "pii_credit_card": "[CREDIT_CARD]",
    "pii_iban": "[IBAN]",
    "pii_ip": "[IP_ADDRESS]",
    "secret_api_key": "[SECRET]",
}
_PHONE_REGION = "US"  # numbers written without a country code are read as North American
_ENTROPY_MIN_BITS = 4.3  # per character: above any hex string (at most 4.0), below random base64 (~5.5)
_ENTROPY_MIN_LENGTH = 32

_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}\b")
_PHONE_RUN = re.compile(r"(?<![\w+.])(?:\+|\(\+?)?\d[\d \t().-]{5,20}\d(?![\w.]*\d)")
_DATE_LIKE = re.compile(
    r"\d{4}[-./ ]\d{1,2}[-./ ]\d{1,2}(?:[ T]\d{1,2}[: ]\d{2}(?:[: ]\d{2})?)?|\d{1,2}[-./]\d{1,2}[-./]\d{2,4}"
)
_CARD = re.compile(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])")
_CARD_PREFIX = re.compile(r"^(?:4|5[1-5]|2[2-7]|3[47]|6(?:011|5)|35)")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b")
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.]*\d)")
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){3,7}[0-9A-Fa-f]{0,4}(?![\w:])")
# "version 1.2.3.4", "release 10.0.0.1 to 10.0.0.2": dotted numbers that follow a version word
_VERSION_BEFORE = re.compile(
    r"(?:\bv|version|release|build|ver\.?)\s*(?:[\d.]+\s*(?:to|and|or|,|->|-)\s*)*$", re.IGNORECASE
)
_OWN_SECRETS = (
    re.compile(r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{32,}"),  # OpenAI, current shapes
    re.compile(r"\bsk-ant-[A-Za-z0-9_-]{32,}"),  # Anthropic
    re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"),  # Google API keys
    re.compile(r"\bhf_[A-Za-z0-9]{34,}\b"),  # Hugging Face
)
_TOKEN = re.compile(rf"[A-Za-z0-9_+/=-]{{{_ENTROPY_MIN_LENGTH},}}")
_SECRET_PLUGINS = (
    "aws.AWSKeyDetector",
    "github_token.GitHubTokenDetector",
    "gitlab_token.GitLabTokenDetector",
    "slack.SlackDetector",
    "stripe.StripeDetector",
    "openai.OpenAIDetector",
    "private_key.PrivateKeyDetector",
    "pypi_token.PypiTokenDetector",
    "sendgrid.SendGridDetector",
    "square_oauth.SquareOAuthDetector",
    "discord.DiscordBotTokenDetector",
    "azure_storage_key.AzureStorageKeyDetector",
)
# RE2 prefilters (no look-arounds): loose on purpose, the Python step decides.
_PREFILTERS = {
    "pii_email": r"[A-Za-z0-9]@[A-Za-z0-9-]+\.",
    "pii_phone": r"(?:\d[ ().-]{0,2}){7}",
    "pii_credit_card": r"(?:\d[ -]?){12,18}\d",
    "pii_iban": r"[A-Z]{2}\d{2} ?[A-Z0-9]{4}",
    "pii_ip": r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}|[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:",
    "secret_api_key": r"AKIA|ASIA|ABIA|ACCA|A3T|gh[pousr]_|gl[a-z]{2,4}-|GR1348941|xox[abposr]-|hooks\.slack|"
    r"[rs]k_live_|sk-|PRIVATE KEY|pypi-|SG\.|sq0csp-|AIza|hf_|AccountKey=|[MNO][A-Za-z0-9_-]{23,25}\.|"
    r"[A-Za-z0-9_+/=-]{32,}",
}
CODES = tuple(_PREFILTERS)


def scan(fields: Fields, codes: tuple[str, ...] = CODES) -> list[Flag]:
    """Every PII or secret span in ``fields`` (codes :data:`CODES`), in field order."""
    flags: list[Flag] = []
    for code in codes:
        candidates = np.flatnonzero(
            pc.match_substring_regex(fields.text, _PREFILTERS[code]).to_numpy(zero_copy_only=False)
        )
        if not len(candidates):
            continue
        find = _FINDERS[code]
        for index, text in zip(candidates, fields.texts(candidates), strict=True):
            for start, end, reason in find(text):
                row, field = int(fields.row[index]), fields.field[index]
                flags.append(Flag(row, "pii", code, field, start, end, text[start:end], reason))
    return flags


def _emails(text: str) -> Iterator[tuple[int, int, str]]:
    for match in _EMAIL.finditer(text):
        yield match.start(), match.end(), "an e-mail address"


def _phones(text: str) -> Iterator[tuple[int, int, str]]:
    """Digit runs that libphonenumber parses as a valid number (one parse each, not its slower matcher)."""
    import phonenumbers

    for match in _PHONE_RUN.finditer(text):
        raw = match.group()
        digits = sum(c.isdigit() for c in raw)
        if (
            not 7 <= digits <= 15
            or _DATE_LIKE.fullmatch(raw)
            or _in_identifier(text, match.start(), match.end())
        ):
            continue  # dates, times, order and ticket numbers
        if _CARD.fullmatch(raw) and _is_card(raw):
            continue  # a card number that also parses as a phone number is a card
        try:
            number = phonenumbers.parse(raw, _PHONE_REGION)
        except phonenumbers.NumberParseException:
            continue
        region = phonenumbers.region_code_for_number(number)  # what is_valid_number looks up first
        if region is not None and phonenumbers.is_valid_number_for_region(number, region):
            yield match.start(), match.end(), f"a valid phone number ({region})"


def _in_identifier(text: str, start: int, end: int) -> bool:
    before = text[max(0, start - 2) : start]
    after = text[end : end + 1]
    return bool(re.search(r"[A-Za-z0-9][-_/#]?$", before)) or after.isalnum()


def _is_card(raw: str) -> bool:
    from stdnum import luhn

    digits = re.sub(r"[ -]", "", raw)
    return 13 <= len(digits) <= 19 and bool(_CARD_PREFIX.match(digits)) and luhn.is_valid(digits)


def _cards(text: str) -> Iterator[tuple[int, int, str]]:
    for match in _CARD.finditer(text):
        if _is_card(match.group()):
            yield match.start(), match.end(), "a payment card number (Luhn-valid, known issuer prefix)"


def _ibans(text: str) -> Iterator[tuple[int, int, str]]:
    from stdnum import iban

    for match in _IBAN.finditer(text):
        raw = match.group().rstrip()
        if iban.is_valid(raw):
            yield match.start(), match.start() + len(raw), f"an IBAN ({raw[:2]}, checksum valid)"


def _ips(text: str) -> Iterator[tuple[int, int, str]]:
    for match in _IPV4.finditer(text):
        if _VERSION_BEFORE.search(text[max(0, match.start() - 40) : match.start()]):
            continue  # "version 1.2.3.4"
        try:
            address: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.IPv4Address(match.group())
        except ValueError:
            continue
        if address.is_global:  # private, loopback, CGNAT and documentation ranges identify no one
            yield match.start(), match.end(), "a public IPv4 address"
    for match in _IPV6.finditer(text):
        try:
            address = ipaddress.IPv6Address(match.group())
        except ValueError:
            continue
        if match.group().count(":") >= 3 and address.is_global:
            yield match.start(), match.end(), "a public IPv6 address"


def _secrets(text: str) -> Iterator[tuple[int, int, str]]:
    seen: list[tuple[int, int]] = []
    for name, pattern in _secret_patterns():
        for match in pattern.finditer(text):
            span = match.span()
            if not any(s < span[1] and span[0] < e for s, e in seen):
                seen.append(span)
                yield span[0], span[1], f"looks like {name}"
    for match in _TOKEN.finditer(text):
        token, span = match.group(), match.span()
        if any(s < span[1] and span[0] < e for s, e in seen) or not _random_looking(token):
            continue
        seen.append(span)
        yield span[0], span[1], f"a high-entropy token ({_entropy(token):.1f} bits per character)"


@cache
def _secret_patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    import importlib

    found: list[tuple[str, re.Pattern[str]]] = []
    for path in _SECRET_PLUGINS:
        module_name, class_name = path.split(".")
        plugin = getattr(importlib.import_module(f"detect_secrets.plugins.{module_name}"), class_name)()
        found += [(str(plugin.secret_type), pattern) for pattern in plugin.denylist]
    names = ("an OpenAI API key", "an Anthropic API key", "a Google API key", "a Hugging Face token")
    return tuple(found) + tuple(zip(names, _OWN_SECRETS, strict=True))


def _random_looking(token: str) -> bool:
    """Mixed case and digits and high entropy: not a word, a path, a hex hash or a UUID."""
    has = (any(c.islower() for c in token), any(c.isupper() for c in token), any(c.isdigit() for c in token))
    return all(has) and "/" not in token.strip("/") and _entropy(token) >= _ENTROPY_MIN_BITS


def _entropy(token: str) -> float:
    counts = Counter(token)
    return -sum(n / len(token) * math.log2(n / len(token)) for n in counts.values())


_FINDERS: dict[str, Callable[[str], Iterator[tuple[int, int, str]]]] = {
    "pii_email": _emails,
    "pii_phone": _phones,
    "pii_credit_card": _cards,
    "pii_iban": _ibans,
    "pii_ip": _ips,
    "secret_api_key": _secrets,
}
