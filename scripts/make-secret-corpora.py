#!/usr/bin/env python3
"""Write the secret-detection and lookalike-domain corpora, deterministically.

    .venv/bin/python scripts/make-secret-corpora.py   # rewrites tests/corpus/{secrets,phishing}/

Every secret is made properly from a seeded random generator: BIP39 phrases with the real
checksum from random entropy (the `mnemonic` package, all five lists, every length), WIF and
BIP32 extended private keys with a real Base58Check checksum, Luhn-valid card numbers. The
emails around them are written by hand (scripts/secret_corpus_frames.py): several different
emails per kind and language, so the corpus is not one sentence with a slot.

positives.jsonl: {"id", "language", "subject", "text", "kinds", "secrets"}; `secrets` are the
exact strings that must not survive redaction. negatives.jsonl: {"id", "language", "subject",
"text", "note"}; nothing in them is a secret. phishing/cases.jsonl: {"id", "language", "text",
"official", "senders", "expected": [{"host", "imitates", "reason"}]}.
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
import unicodedata
from collections.abc import Callable
from pathlib import Path

from mnemonic import Mnemonic

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
import secret_corpus_frames as frames  # noqa: E402  (the hand-written email text)

SEED = 20261122
B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
LISTS = {
    "en": ["english"],
    "ko": ["korean"],
    "ja": ["japanese"],
    "zh": ["chinese_simplified", "chinese_traditional"],
}


def b58check(payload: bytes) -> str:
    data = payload + hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]
    number = int.from_bytes(data, "big")
    out = ""
    while number:
        number, digit = divmod(number, 58)
        out = B58[digit] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


# ---------------------------------------------------------------------------- secrets


def phrase_words(rng: random.Random, wordlist: str, words: int) -> list[str]:
    text = Mnemonic(wordlist).to_mnemonic(rng.randbytes(words * 4 // 3))
    # People type composed characters; the Korean and Japanese lists are stored decomposed.
    return [unicodedata.normalize("NFC", w) for w in text.replace("\u3000", " ").split(" ")]


def wif(rng: random.Random, prefix: str) -> str:
    """A WIF key starting with `prefix`: 5/K/L mainnet, 9/c testnet."""
    while True:
        version = b"\xef" if prefix in "9c" else b"\x80"
        suffix = b"\x01" if prefix in "KLc" else b""
        key = b58check(version + rng.randbytes(32) + suffix)
        if key[0] == prefix:
            return key


XPRV_VERSIONS = {"xprv": "0488ade4", "yprv": "049d7878", "zprv": "04b2430c", "tprv": "04358394"}


def extended_key(rng: random.Random, kind: str) -> str:
    master = Mnemonic.to_hd_master_key(rng.randbytes(64))
    payload = bytes.fromhex(XPRV_VERSIONS[kind]) + b58decode(master)[4:78]
    return b58check(payload)


def b58decode(text: str) -> bytes:
    number = 0
    for char in text:
        number = number * 58 + B58.index(char)
    return number.to_bytes(82, "big")


def hex_key(rng: random.Random) -> str:
    value = rng.randbytes(32).hex()
    style = rng.randrange(4)
    return "0x" + value if style == 0 else value.upper() if style == 1 else value


def luhn_complete(prefix: str, length: int, rng: random.Random) -> str:
    digits = prefix + "".join(str(rng.randrange(10)) for _ in range(length - len(prefix) - 1))
    for check in "0123456789":
        candidate = digits + check
        total = sum(
            (d if i % 2 == 0 else (d * 2 - 9 if d * 2 > 9 else d * 2))
            for i, d in enumerate(int(c) for c in reversed(candidate))
        )
        if total % 10 == 0:
            return candidate
    raise AssertionError("unreachable")


CARD_BRANDS = [
    ("4", 16, "4444"),
    ("51", 16, "4444"),
    ("55", 16, "4444"),
    ("37", 15, "465"),
    ("62", 16, "4444"),
    ("35", 16, "4444"),
    ("2221", 16, "4444"),
    ("6011", 16, "4444"),
]


def card(rng: random.Random, separator: str) -> str:
    prefix, length, groups = rng.choice(CARD_BRANDS)
    number = luhn_complete(prefix, length, rng)
    if not separator:
        return number
    out, at = [], 0
    for size in groups:
        out.append(number[at : at + int(size)])
        at += int(size)
    return separator.join(out)


def password(rng: random.Random, language: str) -> str:
    stems = frames.PASSWORD_STEMS[language]
    stem = rng.choice(stems)
    tail = rng.choice(["", str(rng.randrange(10, 9999)), str(rng.randrange(1970, 2010))])
    symbol = rng.choice(["", "!", "@", "!!", "#", "$", "*", "^^"])
    value = stem + tail + symbol
    if len(value) < 6 or (not any(c.isdigit() for c in value) and not symbol):
        value += str(rng.randrange(10, 9999))
    return value


def token(rng: random.Random, length: int, alphabet: str = "") -> str:
    alphabet = alphabet or "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    while True:
        value = "".join(rng.choice(alphabet) for _ in range(length))
        if any(c.isdigit() for c in value) and any(c.isalpha() for c in value):
            return value


def api_pair(rng: random.Random) -> tuple[str, str]:
    style = rng.randrange(3)
    if style == 0:  # Binance-like: 64 alphanumeric each
        return token(rng, 64), token(rng, 64)
    if style == 1:  # Upbit-like: 40 alphanumeric each
        return token(rng, 40), token(rng, 40)
    hexdigits = "0123456789abcdef"  # OKX-like: a UUID and a 32-hex secret
    uuid = "-".join(token(rng, n, hexdigits) for n in (8, 4, 4, 4, 12))
    return uuid, token(rng, 32, hexdigits).upper()


def otp(rng: random.Random) -> str:
    code = f"{rng.randrange(100000, 1000000)}"
    return code[:3] + " " + code[3:] if rng.random() < 0.15 else code


# ---------------------------------------------------------------------------- layouts


def _numbered_lines(words: list[str], rng: random.Random) -> str:
    mark = rng.choice([". ", ") ", "-", ": ", " "])
    return "\n".join(f"{i}{mark}{w}" for i, w in enumerate(words, 1))


def _grid(words: list[str], rng: random.Random) -> str:
    rows = [words[i : i + 4] for i in range(0, len(words), 4)]
    return "\n".join(
        "   ".join(f"{r * 4 + c + 1:>2}. {w}" for c, w in enumerate(row))
        for r, row in enumerate(rows)
    )


LAYOUTS: dict[str, Callable[[list[str], random.Random], str]] = {
    "plain": lambda words, rng: " ".join(words),
    "numbered_lines": _numbered_lines,
    "numbered_inline": lambda words, rng: " ".join(f"{i}) {w}" for i, w in enumerate(words, 1)),
    "commas": lambda words, rng: (", " if rng.random() < 0.7 else "、").join(words),
    "grid": _grid,
    "shouting": lambda words, rng: " ".join(
        w.upper() if i % 2 else w.capitalize() for i, w in enumerate(words)
    ),
    "ragged": lambda words, rng: "".join(
        w + rng.choice([" ", "  ", "\t", " \n", "\n"]) for w in words
    ).strip(),
    "ideographic": lambda words, rng: "\u3000".join(words),
    "dense": lambda words, rng: "".join(words),
    "dense_groups": lambda words, rng: " ".join(
        "".join(words[i : i + 4]) for i in range(0, len(words), 4)
    ),
}


def layout_phrase(words: list[str], style: str, rng: random.Random) -> str:
    """A phrase the way customers paste it."""
    return LAYOUTS[style](words, rng)


STYLES = {
    "english": [
        "plain",
        "numbered_lines",
        "numbered_inline",
        "commas",
        "grid",
        "shouting",
        "ragged",
    ],
    "korean": ["plain", "numbered_lines", "numbered_inline", "commas", "grid", "ragged"],
    "japanese": ["ideographic", "plain", "numbered_lines", "commas", "grid"],
    "chinese_simplified": ["plain", "numbered_lines", "dense", "dense_groups", "grid"],
    "chinese_traditional": ["plain", "numbered_lines", "dense", "dense_groups", "numbered_inline"],
}


def typo(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word) - 1)
    return word[:i] + word[i + 1 :] if rng.random() < 0.5 else word[:i] + word[i] + word[i:]


# ---------------------------------------------------------------------------- cases


class Corpus:
    def __init__(self) -> None:
        self.rng = random.Random(SEED)
        self.positives: list[dict[str, object]] = []

    def add(
        self, language: str, frame: frames.Frame, block: str, kinds: list[str], secrets: list[str]
    ) -> None:
        subject, body = frame
        self.positives.append(
            {
                "id": f"p{len(self.positives) + 1:03d}-{language}-{'+'.join(kinds)}",
                "language": language,
                "subject": subject.format(s=block),
                "text": body.format(s=block),
                "kinds": kinds,
                "secrets": secrets,
            }
        )

    def pick(self, table: dict[str, list[frames.Frame]], language: str) -> frames.Frame:
        return self.rng.choice(table[language])

    def phrases(self) -> None:
        rng = self.rng
        for language, lists in LISTS.items():
            for wordlist in lists:
                for length in (12, 15, 18, 21, 24):
                    for style in rng.sample(STYLES[wordlist], 4):
                        words = phrase_words(rng, wordlist, length)
                        frame_table = (
                            frames.DENSE_PHRASE if style.startswith("dense") else (frames.PHRASE)
                        )
                        block = layout_phrase(words, style, rng)
                        self.add(
                            language,
                            self.pick(frame_table, language),
                            block,
                            ["recovery_phrase"],
                            [block],
                        )
        for _ in range(6):  # a mistyped English phrase: the checksum fails, still a phrase
            words = phrase_words(rng, "english", rng.choice((12, 24)))
            at = rng.randrange(2, len(words) - 2)
            words[at] = typo(words[at], rng)
            block = layout_phrase(words, rng.choice(["plain", "numbered_lines"]), rng)
            self.add("en", self.pick(frames.PHRASE, "en"), block, ["recovery_phrase"], [block])

    def keys(self) -> None:
        rng = self.rng
        makers: list[Callable[[], str]] = [
            *(lambda p=p: wif(rng, p) for p in "5KL9c"),  # type: ignore[misc]
            *(lambda k=k: extended_key(rng, k) for k in XPRV_VERSIONS),  # type: ignore[misc]
        ]
        for language in LISTS:
            for make in makers:
                key = make()
                self.add(language, self.pick(frames.KEY, language), key, ["private_key"], [key])
            for _ in range(5):
                key = hex_key(rng)
                self.add(language, self.pick(frames.HEX_KEY, language), key, ["private_key"], [key])

    def passwords_and_codes(self) -> None:
        rng = self.rng
        for language in LISTS:
            for frame in frames.PASSWORD[language]:
                value = password(rng, language)
                self.add(language, frame, value, ["password"], [value])
            for frame in frames.OTP[language]:
                code = otp(rng)
                self.add(language, frame, code, ["one_time_code"], [code])

    def api_and_cards(self) -> None:
        rng = self.rng
        for language in LISTS:
            for frame in frames.API[language]:
                key, secret = api_pair(rng)
                subject, body = frame
                self.add(
                    language,
                    (subject, body.replace("{k}", key)),
                    secret,
                    ["api_secret"],
                    [key, secret],
                )
            for frame in frames.CARD[language]:
                number = card(rng, rng.choice([" ", " ", "-", ""]))
                self.add(language, frame, number, ["card_number"], [number])

    def combined(self) -> None:
        """Several secrets in one mail: the worst case an agent should never see."""
        rng = self.rng
        for language in LISTS:
            for frame in frames.COMBINED[language]:
                subject, body = frame
                wordlist = rng.choice(LISTS[language])
                words = phrase_words(rng, wordlist, rng.choice((12, 24)))
                style = "plain" if wordlist != "japanese" else "ideographic"
                values = {
                    "p": password(rng, language),
                    "o": otp(rng).replace(" ", ""),
                    "w": layout_phrase(words, style, rng),
                    "x": wif(rng, rng.choice("KL")),
                }
                text = body.format(**values)
                kinds = [k for k, v in frames.COMBINED_KINDS.items() if "{" + v + "}" in body]
                self.positives.append(
                    {
                        "id": f"p{len(self.positives) + 1:03d}-{language}-combined",
                        "language": language,
                        "subject": subject,
                        "text": text,
                        "kinds": sorted(kinds),
                        "secrets": [
                            values[v]
                            for v in frames.COMBINED_KINDS.values()
                            if "{" + v + "}" in body
                        ],
                    }
                )


def negatives(rng: random.Random) -> list[dict[str, object]]:
    """Ordinary mail full of things that look like secrets and are not."""
    fillers = {
        "tx": lambda: rng.randbytes(32).hex(),
        "tx0x": lambda: "0x" + rng.randbytes(32).hex(),
        "btc": lambda: b58check(b"\x00" + rng.randbytes(20)),
        "btc3": lambda: b58check(b"\x05" + rng.randbytes(20)),
        "bech32": lambda: (
            "bc1q" + "".join(rng.choice("qpzry9x8gf2tvdw0s3jn54khce6mua7l") for _ in range(38))
        ),
        "eth": lambda: "0x" + rng.randbytes(20).hex(),
        "tron": lambda: b58check(b"\x41" + rng.randbytes(20)),
        "xrp": lambda: (
            "r"
            + "".join(
                rng.choice("rpshnaf39wBUDNEGHJKLM4PQRST7VWXYZ2bcdeCg65jkm8oFqi1tuvAxyz")
                for _ in range(33)
            )
        ),
        "tag": lambda: str(rng.randrange(100000, 4294967295)),
        "order": lambda: luhn_complete(rng.choice("2345"), rng.choice((16, 18, 19)), rng),
        "uid": lambda: str(rng.randrange(10000000, 99999999)),
        "amount": lambda: f"{rng.randrange(1, 99999):,}.{rng.randrange(0, 99):02d}",
        "ref": lambda: f"MB-{rng.randrange(1, 999999):06d}",
    }
    out = []
    for language, notes in frames.NEGATIVE.items():
        for note, subject, body in notes:
            values = {name: make() for name, make in fillers.items()}
            out.append(
                {
                    "id": f"n{len(out) + 1:03d}-{language}",
                    "language": language,
                    "subject": subject.format(**values),
                    "text": body.format(**values),
                    "note": note,
                }
            )
    return out


def phishing_cases(rng: random.Random) -> list[dict[str, object]]:
    out = []
    for language, cases in frames.PHISHING.items():
        for official, text, senders, expected in cases:
            out.append(
                {
                    "id": f"f{len(out) + 1:03d}-{language}",
                    "language": language,
                    "text": text,
                    "official": list(official),
                    "senders": list(senders),
                    "expected": [
                        {"host": host, "imitates": imitates, "reason": reason}
                        for host, imitates, reason in expected
                    ],
                }
            )
    return out


def write_jsonl(path: Path, rows: list[dict[str, object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = (json.dumps(row, ensure_ascii=False) for row in rows)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def main() -> None:
    corpus = Corpus()
    corpus.phrases()
    corpus.keys()
    corpus.passwords_and_codes()
    corpus.api_and_cards()
    corpus.combined()
    out = ROOT / "tests" / "corpus"
    write_jsonl(out / "secrets" / "positives.jsonl", corpus.positives)
    negative_rows = negatives(random.Random(SEED + 1))
    write_jsonl(out / "secrets" / "negatives.jsonl", negative_rows)
    phishing_rows = phishing_cases(random.Random(SEED + 2))
    write_jsonl(out / "phishing" / "cases.jsonl", phishing_rows)
    print(
        f"{len(corpus.positives)} positives, {len(negative_rows)} negatives, "
        f"{len(phishing_rows)} phishing cases"
    )


if __name__ == "__main__":
    main()
