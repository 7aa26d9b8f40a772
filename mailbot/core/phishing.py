"""Email text + our official domains -> the lookalike domains in it (likely phishing).

Customers forward "is this you?" mail, or quote a site where they typed their password. Every
host in the text (URLs, bare domains, email addresses, defanged `hxxp://x[.]com` forms) is
compared with each configured official domain, e.g. ("upbit.com", "bithumb.com"):

- the official domain and its subdomains (`www.upbit.com`, `m.upbit.com`) are never flagged;
- homoglyph: the same name once look-alike characters are folded to Latin (Cyrillic and Greek
  letters, accents, fullwidth forms, `0`→o, `1`/`i`→l, `rn`→m, `vv`→w, `cl`→d), using the
  Unicode confusables data (TR39) that `confusable_homoglyphs` ships;
- punycode: an `xn--` label that decodes to such a name;
- other TLD: the official name under another suffix (`upbit.net`, `upbit.co.kr`);
- extra words: the name inside a longer one (`upbit-support.com`, `login-upbit.co`, `myupbit.io`);
- subdomain: the name in front of someone else's domain (`upbit.com.secure-login.io`);
- typo: one edit from the name (two for names of 8+ letters); names under 5 letters are matched
  only exactly, else every short word would be a typo of them.

The registrable part of a host is found with a short list of two-level public suffixes
(`co.kr`, `com.cn`, `co.jp`, ...), not the whole Public Suffix List. The confusables data is
read once from the package; everything else is pure.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache

_TWO_LEVEL_SUFFIXES = frozenset(
    f"{second}.{top}"
    for top, seconds in {
        "kr": "co or ne go ac re pe",
        "cn": "com net org gov edu",
        "jp": "co ne or ac go",
        "hk": "com net org",
        "tw": "com net org",
        "uk": "co org me",
        "au": "com net org",
        "sg": "com net org",
        "in": "co net org",
        "br": "com net",
        "vn": "com net",
        "ph": "com net",
        "my": "com net",
        "id": "co",
        "th": "co",
    }.items()
    for second in seconds.split()
)


def _words(text: str) -> list[str]:
    return text.split()


# A bare "word.word" counts as a host only under one of these (file.pdf, e.g., Node.js do not);
# after "http://" or "@" any TLD does.
_BARE_TLDS = frozenset(
    _words(
        """com net org io co info biz xyz top site online app dev me cc tk ml ga cf gq vip pro
    live shop store link club ai us uk de ru kr cn jp hk tw sg in vn ph id th asia support
    exchange finance money wallet network services security help cloud"""
    )
)

_LETTER = r"0-9A-Za-z\u00c0-\u024f\u0370-\u03ff\u0400-\u052f\u0531-\u058f\u1d00-\u1eff\uff10-\uff5a"
_LABEL = rf"[{_LETTER}](?:[{_LETTER}-]{{0,61}}[{_LETTER}])?"
_DOT = r"(?:\.|\[\.\]|\(\.\)|\{\.\}|\[dot\]|\(dot\)|．)"
_HOST = re.compile(
    rf"(?<![{_LETTER}\-.])(?P<host>(?:{_LABEL}{_DOT})+(?:[A-Za-z]{{2,24}}|xn--[a-z0-9-]{{2,59}}))"
    rf"(?![{_LETTER}\-@]|{_DOT}[{_LETTER}])",
    re.IGNORECASE,
)
_SCHEME_BEFORE = re.compile(r"(?:h(?:tt|xx)ps?|h\[tt\]ps?)(?:://|\[://\]|\[:\]//)$", re.I)
_AT_BEFORE = re.compile(r"[A-Za-z0-9._%+\-]+(?:@|\[@\]|\(@\)|\[at\]|\(at\))$", re.I)
_REFANG = re.compile(r"\[\.\]|\(\.\)|\{\.\}|\[dot\]|\(dot\)|．", re.I)
_ASCII_FOLDS = (("rn", "m"), ("vv", "w"), ("cl", "d"))
_DIGIT_FOLDS = str.maketrans({"0": "o", "1": "l", "i": "l", "|": "l"})


class Source(enum.StrEnum):
    URL = "url"
    EMAIL = "email"
    DOMAIN = "domain"  # a bare domain in running text


class LookalikeReason(enum.StrEnum):
    HOMOGLYPH = "homoglyph"
    PUNYCODE = "punycode"
    OTHER_TLD = "other_tld"
    EXTRA_WORDS = "extra_words"
    SUBDOMAIN = "subdomain"
    TYPO = "typo"


@dataclass(frozen=True, slots=True)
class HostMention:
    """A host named in a text: lower-case, refanged; text[start:end] is how it was written."""

    host: str
    source: Source
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Lookalike:
    """A host that imitates an official domain."""

    host: str  # as found (lower-case, refanged); may be xn-- or contain Cyrillic letters
    unicode_host: str  # with xn-- labels decoded, which is what a browser may show
    imitates: str  # the official domain
    reasons: tuple[LookalikeReason, ...]
    why: str


@dataclass(frozen=True, slots=True)
class _Split:
    subdomains: tuple[str, ...]
    name: str  # the registrable label: "upbit" in "www.upbit.co.kr"
    suffix: str  # "co.kr"


def extract_hosts(text: str) -> tuple[HostMention, ...]:
    """Hosts in URLs, email addresses and running text, in order (defanged forms included)."""
    found: list[HostMention] = []
    for m in _HOST.finditer(text):
        before = text[max(0, m.start() - 80) : m.start()]
        host = _REFANG.sub(".", m.group("host")).lower().rstrip(".")
        if _SCHEME_BEFORE.search(before):
            source = Source.URL
        elif _AT_BEFORE.search(before):
            source = Source.EMAIL
        elif host.rsplit(".", 1)[-1] in _BARE_TLDS or host.rsplit(".", 1)[-1].startswith("xn--"):
            source = Source.DOMAIN
        else:
            continue
        found.append(HostMention(host, source, m.start(), m.end()))
    return tuple(found)


def _decode_label(label: str) -> str:
    if not label.startswith("xn--"):
        return label
    try:
        return label[4:].encode("ascii").decode("punycode")
    except (UnicodeError, ValueError):
        return label


def to_unicode(host: str) -> str:
    """Host with its punycode (xn--) labels decoded; undecodable labels stay as they are."""
    return ".".join(_decode_label(label) for label in host.split("."))


@cache
def _confusable_map() -> dict[str, str]:
    """Non-ASCII character -> the ASCII letter or digit it can be mistaken for (TR39 data)."""
    from confusable_homoglyphs import confusables

    table: dict[str, str] = {}
    for char, glyphs in confusables.confusables_data.items():
        if len(char) == 1 and not char.isascii():
            ascii_ones = [g["c"] for g in glyphs if len(g["c"]) == 1 and g["c"].isascii()]
            letters = [c for c in ascii_ones if c.isalnum()]
            if letters:
                table[char] = letters[0].lower()
    # Greek letters the data pairs with other Greek letters only.
    table.update({"τ": "t", "κ": "k", "ρ": "p", "ν": "v", "η": "n", "ш": "w", "п": "n"})
    return table


def skeleton(name: str) -> str:
    """What `name` looks like: confusable characters folded to one ASCII form."""
    text = unicodedata.normalize("NFKC", name).lower()
    text = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    folded = _confusable_map()
    text = "".join(folded.get(c, c) for c in text)
    for pair, single in _ASCII_FOLDS:
        text = text.replace(pair, single)
    return text.translate(_DIGIT_FOLDS)


def _split(host: str) -> _Split:
    labels = host.split(".")
    take = 2 if len(labels) > 2 and ".".join(labels[-2:]) in _TWO_LEVEL_SUFFIXES else 1
    return _Split(tuple(labels[: -take - 1]), labels[-take - 1], ".".join(labels[-take:]))


def edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance (insert, delete, substitute, swap neighbours)."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            cost = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cost = min(cost, previous2[j - 2] + 1)
            current.append(cost)
        previous2, previous = previous, current
    return previous[-1]


def _typo_budget(brand: str) -> int:
    return 0 if len(brand) < 5 else 1 if len(brand) < 8 else 2


def _is_typo(word: str, brand: str) -> bool:
    """Within the edit budget, with the same first letter: typosquats keep the look of the
    start, and dictionary words one letter away (finance / binance) do not count."""
    budget = _typo_budget(brand)
    return bool(budget) and word[:1] == brand[:1] and edit_distance(word, brand) <= budget


def _name_reasons(name: str, brand: str) -> set[LookalikeReason]:
    """How a label relates to the official name (empty: identical or unrelated)."""
    look, want = skeleton(name), skeleton(brand)
    if look == want:
        return set() if name == brand else {LookalikeReason.HOMOGLYPH}
    words = [w for w in name.split("-") if w]
    disguised = {LookalikeReason.HOMOGLYPH} if brand not in name else set()
    if any(skeleton(w) == want for w in words):  # "upbit-support", "login-upbіt"
        return {LookalikeReason.EXTRA_WORDS} | disguised
    if len(want) >= 4 and want in look:  # glued: "myupbit", "upbitlogin"
        return {LookalikeReason.EXTRA_WORDS} | disguised
    if any(_is_typo(skeleton(w), want) for w in words):
        extra = {LookalikeReason.EXTRA_WORDS} if len(words) > 1 else set()
        return {LookalikeReason.TYPO} | extra
    return set()


def _compare(host: str, official: str) -> set[LookalikeReason]:
    """Why `host` imitates `official` (empty: it does not). `host` is not official."""
    shown = to_unicode(host)
    mine, theirs = _split(shown), _split(official)
    reasons = _name_reasons(mine.name, theirs.name)
    same_name = skeleton(mine.name) == skeleton(theirs.name)
    if (reasons or same_name) and mine.suffix != theirs.suffix:
        reasons.add(LookalikeReason.OTHER_TLD)
    if not reasons:
        for label in mine.subdomains:  # "upbit.com.secure-login.io"
            found = _name_reasons(label, theirs.name)
            if found or label == theirs.name:
                reasons |= found - {LookalikeReason.EXTRA_WORDS} | {LookalikeReason.SUBDOMAIN}
    if reasons and shown != host:
        reasons.add(LookalikeReason.PUNYCODE)
    return reasons


def _is_official(host: str, official: Sequence[str]) -> bool:
    return any(host == o or host.endswith("." + o) for o in official)


def check_host(host: str, official: Sequence[str]) -> Lookalike | None:
    """The lookalike finding for one host, or None when it is official or unrelated."""
    host = _REFANG.sub(".", host).lower().rstrip(".")
    wanted = [o.lower().rstrip(".") for o in official]
    if _is_official(host, wanted):
        return None
    for domain in wanted:
        reasons = _compare(host, domain)
        if reasons:
            ordered = tuple(r for r in LookalikeReason if r in reasons)
            shown = to_unicode(host)
            named = host if shown == host else f"{host} ({shown})"
            why = f"{named} imitates {domain}: {', '.join(ordered)}"
            return Lookalike(host, shown, domain, ordered, why)
    return None


def find_lookalikes(
    text: str, official: Sequence[str], senders: Iterable[str] = ()
) -> tuple[Lookalike, ...]:
    """Lookalikes among the sender addresses given and every host named in `text`, once each."""
    hosts = [s.rsplit("@", 1)[-1] for s in senders if s]
    hosts += [mention.host for mention in extract_hosts(text)]
    found: dict[str, Lookalike] = {}
    for host in hosts:
        if host not in found and (hit := check_host(host, official)) is not None:
            found[host] = hit
    return tuple(found.values())
