"""Text -> the private keys in it: WIF, BIP32 extended private keys, and 64-hex keys in context.

WIF and extended keys carry a Base58Check checksum (32 bits), so a string that passes it is a
key, whatever surrounds it. A bare 64-hex string is far more often a transaction hash than a
key, so it counts only when the nearest label before it (or, for Korean and Japanese word
order, right after it) names a private key rather than a transaction or a hash.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass

B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_VALUE = {c: i for i, c in enumerate(B58_ALPHABET)}
_B58 = "[1-9A-HJ-NP-Za-km-z]"

# WIF: version 0x80 (mainnet: 5 uncompressed, K/L compressed) or 0xEF (testnet: 9 / c).
_WIF = re.compile(rf"(?<![0-9A-Za-z])[5KLc9]{_B58}{{50,51}}(?![0-9A-Za-z])")
_WIF_VERSIONS = (0x80, 0xEF)
# BIP32 / SLIP-132 extended private keys: 78 bytes + checksum = 111 characters.
_XPRV = re.compile(rf"(?<![0-9A-Za-z])[xyztuvYZUV]prv{_B58}{{107,108}}(?![0-9A-Za-z])")
_XPRV_VERSIONS = frozenset(
    bytes.fromhex(v)
    for v in (
        "0488ade4",  # xprv
        "049d7878",  # yprv
        "04b2430c",  # zprv
        "04358394",  # tprv
        "044a4e28",  # uprv
        "045f18bc",  # vprv
        "0295b005",  # Yprv
        "02aa7a99",  # Zprv
        "024285b5",  # Uprv
        "02575048",  # Vprv
    )
)
_HEX64 = re.compile(r"(?<![0-9A-Za-z])(?:0[xX])?[0-9a-fA-F]{64}(?![0-9A-Za-z])")

# Labels in English, Korean, Chinese and Japanese. "Secret key" (시크릿 키, 密钥, シークレット
# キー) is how exchanges name an API secret: core.credentials finds those.
_KEY_LABEL = (
    r"priv(?:ate)?[\s_-]*key|privkey|wallet[\s_-]*key|key[\s_-]*hex"
    r"|개인\s*키|프라이빗\s*키|비밀\s*키"
    r"|私钥|私鑰"
    r"|秘密鍵|プライベート\s*キー|秘密キー"
)
_NOT_KEY_LABEL = (
    r"\btx(?:id|hash|n)?\b|transaction|\bhash\b|block|explorer|etherscan|bscscan|tronscan"
    r"|트랜잭션|해시|거래\s*id|전송\s*id|블록"
    r"|交易|哈希|區塊|区块|转账记录"
    r"|トランザクション|ハッシュ|取引\s*id|ブロック"
)
_LABEL = re.compile(rf"(?P<key>{_KEY_LABEL})|(?P<other>{_NOT_KEY_LABEL})", re.IGNORECASE)
_CONTEXT_BEFORE = 60  # characters: "my private key (please keep it safe!!):\n" fits
_CONTEXT_AFTER = 20  # "... 이게 제 개인키입니다" / "... が秘密鍵です"


@dataclass(frozen=True, slots=True)
class KeyMatch:
    start: int
    end: int
    why: str


def b58decode_check(text: str) -> bytes | None:
    """The payload of a Base58Check string, or None when it does not decode or check."""
    number = 0
    for char in text:
        value = _B58_VALUE.get(char)
        if value is None:
            return None
        number = number * 58 + value
    leading_zeros = len(text) - len(text.lstrip("1"))
    raw = b"\x00" * leading_zeros + number.to_bytes((number.bit_length() + 7) // 8, "big")
    payload, checksum = raw[:-4], raw[-4:]
    if len(raw) < 5 or hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4] != checksum:
        return None
    return payload


def _is_wif(candidate: str) -> bool:
    payload = b58decode_check(candidate)
    if payload is None or payload[0] not in _WIF_VERSIONS:
        return False
    return len(payload) == 33 or (len(payload) == 34 and payload[-1] == 0x01)


def _is_xprv(candidate: str) -> bool:
    payload = b58decode_check(candidate)
    return payload is not None and len(payload) == 78 and payload[:4] in _XPRV_VERSIONS


def _nearest_label(text: str, start: int, end: int) -> str | None:
    """'key', 'other' or None: the closest label before the hex, else one just after it."""
    before = text[max(0, start - _CONTEXT_BEFORE) : start]
    labels = list(_LABEL.finditer(before))
    if labels:
        return labels[-1].lastgroup
    after = _LABEL.search(text[end : end + _CONTEXT_AFTER])
    return after.lastgroup if after else None


def find_keys(text: str) -> Iterator[KeyMatch]:
    """Private keys in `text`, each with the reason it counts as one."""
    for m in _WIF.finditer(text):
        if _is_wif(m.group()):
            yield KeyMatch(m.start(), m.end(), "WIF private key (Base58Check valid)")
    for m in _XPRV.finditer(text):
        if _is_xprv(m.group()):
            yield KeyMatch(m.start(), m.end(), f"{m.group()[:4]} extended private key")
    for m in _HEX64.finditer(text):
        if _nearest_label(text, m.start(), m.end()) == "key":
            yield KeyMatch(m.start(), m.end(), "64-hex private key next to a key label")
