"""Text -> the BIP39 recovery phrases in it, in the English, Korean, Japanese and Chinese lists.

A phrase is found as a *run*: word-list words one after another, separated only by what people
put between the words of a pasted phrase (spaces and line breaks, the ideographic space,
commas, numbering such as "1." / "2)" / "(3)", bullets). Words are matched whole, so prose
rarely forms long runs: on the shipped training corpus (2,366 support emails) the longest run
of English list words is 6, of Korean 4 and of Japanese 1. A run of 12 or more is therefore a
phrase even when its checksum fails (a mistyped or misremembered phrase still opens most of a
wallet to a brute force), and an English run may bridge two typos (one edit away from a list
word). The checksum (4-8 bits) is reported, not required: on its own it would call one random
12-word window in 16 a phrase.

Chinese is the exception: the Chinese lists are the 2,048 most common characters, so ordinary
Chinese prose is almost entirely list words, and a phrase may be written without spaces. A
Chinese phrase is therefore found only when (a) its characters are set apart one by one
(spaces, numbering), or (b) a line, or the part of a line after a colon, is nothing but 12-24
list characters, the checksum holds, and a phrase word (助记词, 种子, seed ...) comes before it
or few of its characters are among the commonest.

The word lists are read once from the `mnemonic` package's data (static files shipped with the
code, not input); everything else is pure.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache

from mnemonic import Mnemonic

PHRASE_LENGTHS = (24, 21, 18, 15, 12)  # longest first: a 24-word phrase contains 12-word windows
MIN_RUN = 12  # fewer words are not flagged without a checksum: prose reaches 6 (see above)
MAX_TYPOS = 2  # English words one edit away from a list word, bridged inside a run
MAX_GAP = 16  # characters between two words of one phrase ("\n 12. " is 5)

LANGUAGES = ("english", "korean", "japanese", "chinese_simplified", "chinese_traditional")

# What a word of each list looks like in text. Korean and Japanese lists are stored decomposed
# (NFKD); text is usually composed, so both forms are tokens and each token is compared in NFC.
_TOKEN = {
    "english": re.compile(r"[A-Za-z]+"),
    "korean": re.compile(r"[\uac00-\ud7a3\u1100-\u11ff]+"),
    "japanese": re.compile(r"[\u3041-\u309f]+"),
    "chinese_simplified": re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]"),
    "chinese_traditional": re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]"),
}
_NUMBERING = r"(?<!\d)\d{1,2}(?!\d)"
# Between two words of a pasted phrase; "1." / "2)" / "(3)" / "#4" / "- " / "•" / quotes.
_GAP = re.compile(
    r"(?:\s|[,、，;；.。:：|/·•*#\-–—()（）\[\]\"'“”‘’「」『』<>]|" + _NUMBERING + r")*"
)
# Chinese prose uses commas and full stops between words too, so only spacing and numbering
# separate Chinese phrase words; a Chinese gap must contain one of them (else it is prose).
_CHINESE_GAP = re.compile(r"(?:[\s.、，,)）(（:：#\->]|" + _NUMBERING + r")*")
_CHINESE_SPACING = re.compile(r"\s|" + _NUMBERING)
_HAN = r"[\u3400-\u4dbf\u4e00-\u9fff]"
# Cheap pre-filters, so that Chinese prose is not walked character by character: a spaced
# run is 12+ characters each followed by a gap; a dense phrase is a whole segment made of
# characters and gap marks only.
_SPACED_CANDIDATE = re.compile(
    rf"{_HAN}(?:[\s.、，,)）(（:：#\->\d]{{1,{MAX_GAP}}}{_HAN}){{{MIN_RUN - 1},}}"
)
_DENSE_CANDIDATE = re.compile(
    r"(?:^|(?<=[\n\r:：\"“”「」『』]))"
    r"[\u3400-\u4dbf\u4e00-\u9fff\t \u3000.、，,)）(（#\->\d]{12,120}"
    r"(?=[\n\r:：\"“”「」『』]|$)"
)
# A dense Chinese phrase also needs one of these words before it, or at most one in six of
# its characters among the 100 commonest: prose is full of 的/了/是/我 (the two training lines
# that pass the checksum by chance have 4 and 5 in 12), a random phrase has one in 20 such,
# so 1-4 % of random phrases (0.5 % at 24 words) fail this test and need the word.
_PHRASE_WORDS = re.compile(
    r"助记词|助記詞|记忆词|記憶詞|恢复|恢復|种子|種子|备份|備份|钱包|錢包|私钥|私鑰"
    r"|mnemonic|seed|recovery|phrase",
    re.IGNORECASE,
)
_COMMON = 100  # the Chinese lists are ordered by frequency: index < 100 is a common character
_PHRASE_CONTEXT = 300  # characters before a dense phrase searched for _PHRASE_WORDS


@dataclass(frozen=True, slots=True)
class PhraseMatch:
    """A recovery phrase (or a run long enough to be one) found in a text."""

    start: int
    end: int
    wordlist: str  # one of LANGUAGES
    words: int  # words in the run, typos included
    checksum_ok: bool  # some 12-24 word window of the run passes the BIP39 checksum


@dataclass(frozen=True, slots=True)
class _Token:
    start: int
    end: int
    index: int  # position in the word list; -1 for a bridged typo


@cache
def wordlist(language: str) -> dict[str, int]:
    """NFC word -> index in the official list."""
    words = Mnemonic(language).wordlist
    return {unicodedata.normalize("NFC", w): i for i, w in enumerate(words)}


@cache
def _deletions(language: str) -> frozenset[str]:
    """Every list word with one letter deleted, to recognise one-edit typos cheaply."""
    return frozenset(w[:i] + w[i + 1 :] for w in wordlist(language) for i in range(len(w)))


def checksum_ok(indices: Sequence[int]) -> bool:
    """Whether these word indices form a BIP39 phrase with a valid checksum."""
    if len(indices) not in PHRASE_LENGTHS:
        return False
    bits = 0
    for index in indices:
        bits = (bits << 11) | index
    checksum_bits = len(indices) * 11 // 33
    entropy = (bits >> checksum_bits).to_bytes(checksum_bits * 4, "big")
    expected = hashlib.sha256(entropy).digest()[0] >> (8 - checksum_bits)
    return bits & ((1 << checksum_bits) - 1) == expected


@lru_cache(maxsize=8192)  # prose repeats its words; each is checked once
def _is_typo(word: str, language: str) -> bool:
    """One insertion, deletion or substitution away from an English list word."""
    if language != "english" or not 4 <= len(word) <= 9:
        return False
    known, deleted = wordlist(language), _deletions(language)
    if word in deleted:  # a letter missing
        return True
    candidates = (word[:i] + word[i + 1 :] for i in range(len(word)))
    return any(c in known or c in deleted for c in candidates)  # extra or wrong letter


def _tokens(text: str, language: str) -> Iterator[_Token | None]:
    """List words in order; None for any other word (it ends a run)."""
    known = wordlist(language)
    for m in _TOKEN[language].finditer(text):
        word = unicodedata.normalize("NFC", m.group()).lower()
        index = known.get(word)
        if index is not None:
            yield _Token(m.start(), m.end(), index)
        elif _is_typo(word, language):
            yield _Token(m.start(), m.end(), -1)
        else:
            yield None


def _joined(text: str, left: _Token, right: _Token, language: str) -> bool:
    gap = text[left.end : right.start]
    if len(gap) > MAX_GAP:
        return False
    if language.startswith("chinese"):
        return bool(_CHINESE_GAP.fullmatch(gap) and _CHINESE_SPACING.search(gap))
    return bool(_GAP.fullmatch(gap))


def _runs(text: str, language: str) -> Iterator[list[_Token]]:
    """Maximal runs of list words (with at most MAX_TYPOS typos, never at either end)."""
    run: list[_Token] = []
    for token in [*_tokens(text, language), None]:
        if token is not None and run and _joined(text, run[-1], token, language):
            typos = sum(t.index < 0 for t in run) + (token.index < 0)
            if typos <= MAX_TYPOS:
                run.append(token)
                continue
        while run and run[-1].index < 0:
            run.pop()
        if run:
            yield run
        run = [token] if token is not None and token.index >= 0 else []


def _any_window_valid(indices: Sequence[int]) -> bool:
    return any(
        checksum_ok(indices[i : i + n])
        for n in PHRASE_LENGTHS
        for i in range(len(indices) - n + 1)
        if -1 not in indices[i : i + n]
    )


def _spaced_phrases(text: str, language: str) -> Iterator[PhraseMatch]:
    for run in _runs(text, language):
        if len(run) >= MIN_RUN:
            indices = [t.index for t in run]
            valid = _any_window_valid(indices)
            yield PhraseMatch(run[0].start, run[-1].end, language, len(run), valid)


def _phrase_like(text: str, start: int, indices: Sequence[int]) -> bool:
    if _PHRASE_WORDS.search(text[max(0, start - _PHRASE_CONTEXT) : start]):
        return True
    return sum(i < _COMMON for i in indices) <= len(indices) // 6


def _spaced_chinese_phrases(text: str, language: str) -> Iterator[PhraseMatch]:
    for candidate in _SPACED_CANDIDATE.finditer(text):
        for p in _spaced_phrases(candidate.group(), language):
            at = candidate.start()
            yield PhraseMatch(p.start + at, p.end + at, p.wordlist, p.words, p.checksum_ok)


def _dense_chinese_phrases(text: str, language: str) -> Iterator[PhraseMatch]:
    """Lines (or what follows a colon) made only of 12-24 list characters, checksum valid."""
    known = wordlist(language)
    for candidate in _DENSE_CANDIDATE.finditer(text):
        segment, start = candidate.group(), candidate.start()
        hanzi = [(start + i, ch) for i, ch in enumerate(segment) if _TOKEN[language].match(ch)]
        rest = _TOKEN[language].sub("", segment)
        if len(hanzi) in PHRASE_LENGTHS and _CHINESE_GAP.fullmatch(rest):
            indices = [known.get(ch, -1) for _, ch in hanzi]
            if -1 not in indices and checksum_ok(indices) and _phrase_like(text, start, indices):
                yield PhraseMatch(hanzi[0][0], hanzi[-1][0] + 1, language, len(hanzi), True)


def find_phrases(text: str) -> list[PhraseMatch]:
    """Every recovery phrase in `text`, in every supported list (they may overlap)."""
    found: list[PhraseMatch] = []
    for language in LANGUAGES:
        if not _TOKEN[language].search(text):
            continue  # most mail contains one script: skip the others cheaply
        if language.startswith("chinese"):
            found.extend(_spaced_chinese_phrases(text, language))
            found.extend(_dense_chinese_phrases(text, language))
        else:
            found.extend(_spaced_phrases(text, language))
    return found
