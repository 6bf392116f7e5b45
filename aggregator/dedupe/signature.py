"""Document signatures: MinHash of word shingles (near-duplicates) and weighted terms
(same-event evidence); plain data, made in worker processes for big batches."""

from __future__ import annotations

import hashlib
import math
import re
import string
import unicodedata
import zlib
from array import array
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import chain
from typing import Any, TypeVar

import numpy as np

NUM_PERM = 64
BANDS = 16  # 16 bands of 4 rows: pairs above ~0.5 Jaccard share a bucket with high probability
SHINGLE = 3
MAX_SIGNATURE_TOKENS = 300
MAX_TEXT_WORDS = 1500  # terms are counted over this many words of the text
MAX_KEYWORDS = 80  # terms a signature keeps (by count; the index weighs them by IDF)
TITLE_WEIGHT = 2.0  # a title word counts as this many occurrences
NAME_BOOST = 1.5  # a word written capitalised inside a sentence (a name) weighs this much more
# Where in a long text each term occurs: the text's paragraphs are cut into PARTS contiguous
# parts of about equal length, and each term keeps the set of parts it occurs in (a bit mask).
# A match whose shared terms all sit in one or two parts of a long text is about that part
# only (a newsletter's one section, a roundup's one item), not about the whole document.
PARTS = 8  # one byte of mask per term (Signature.parts)
PARTS_MIN_WORDS = 200  # shorter texts are not cut (their parts would be single sentences)
_PARAGRAPH = re.compile(r"\n\s*\n")


def _constants(label: str) -> np.ndarray:
    # Derived from sha256, not a seeded RNG: stored signatures must stay comparable across
    # numpy versions.
    digests = (hashlib.sha256(f"minhash:{label}:{i}".encode()).digest() for i in range(NUM_PERM))
    return np.array([int.from_bytes(d[:8], "big") | 1 for d in digests], dtype=np.uint64)


_A, _B = _constants("a"), _constants("b")
_WORD = re.compile(r"\w+")
# The same words in ASCII text (\w is [a-zA-Z0-9_] there): every other ASCII character becomes
# a space and str.split finds the runs (a quarter less time than the regex on ECB+).
_WORD_CHARS = frozenset(string.ascii_letters + string.digits + "_")
_ASCII_SPACES = str.maketrans({c: c if c in _WORD_CHARS else " " for c in map(chr, range(128))})
# Capitalised words after a lower-case word (or comma) are a name, not a sentence start.
# The pattern starts with its space so that the engine can skip to the next space (about twice
# as fast as starting with the class before it; a look-behind checks that class).
_NAME = re.compile(r" (?<=[a-z,;] )([A-Z][a-z]\w*(?: [A-Z][a-z]\w*)*)")
_STOP_WORDS = """a about after again all also an and any are as at be been before being but by can could
    did do does for from had has have he her his how i if in into is it its just may me more
    most my new no not now of on one only or other our out over said says she so some such than
    that the their them then there these they this those through to too two up us was we were
    what when where which while who will with would you your year years week today first last
    du de la le les des et en un une der die das und ein eine el los las y del"""
_STOP = frozenset(_STOP_WORDS.split())


def tokens(text: str) -> list[str]:
    """Return lower-case word tokens (NFKC-folded) of a text."""
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


_T = TypeVar("_T")
MEMO_SIZE = 500_000  # entries each memo table keeps (new words beyond it are not kept)


def _memoised(table: dict[str, _T], words: list[str], make: Callable[[str], _T]) -> list[_T]:
    """Return table[word] for each word, `make(word)` (which memoises) where it is missing."""
    try:
        # In C; most words were met before. (Catching the first new one is cheaper than
        # looking for None among the results: comparing a str with None is slow.)
        return list(map(table.__getitem__, words))
    except KeyError:
        found = list(map(table.get, words))
    return [v if v is not None else make(w) for v, w in zip(found, words, strict=True)]


_TOKEN_HASHES: dict[str, int] = {}  # crc32 per token, memoised (bounded)


def _token_hash(word: str) -> int:
    """Return a token's crc32 (stable across processes, unlike hash()), memoised."""
    value = zlib.crc32(word.encode("utf-8"))
    if len(_TOKEN_HASHES) < MEMO_SIZE:
        _TOKEN_HASHES[word] = value
    return value


def _token_hashes(words: list[str]) -> list[int]:
    """Return the crc32 of each token."""
    return _memoised(_TOKEN_HASHES, words, _token_hash)


_A_COLUMN, _B_COLUMN = _A[:, None], _B[:, None]
_MIX1, _MIX2 = np.uint64(0x9E3779B1), np.uint64(0x85EBCA77)
_LOW32, _SHIFT = np.uint64(0xFFFFFFFF), np.uint64(32)


def minhash(words: list[str]) -> np.ndarray:
    """Return the NUM_PERM MinHash values (uint32) of a token list's 3-shingles."""
    # (Through array.array: numpy converts a list of ints one by one, array in one C loop.)
    hashes = np.frombuffer(array("Q", _token_hashes(words)), dtype=np.uint64)
    if len(hashes) >= SHINGLE:
        # A shingle's hash mixes its tokens' hashes.
        shingles = (hashes[:-2] * _MIX1 ^ hashes[1:-1] * _MIX2 ^ hashes[2:]) & _LOW32
    else:
        shingles = hashes
    if len(shingles) == 0:
        return np.full(NUM_PERM, 0xFFFFFFFF, dtype=np.uint32)
    # Multiply-shift hashing (a*x + b mod 2^64, high 32 bits): one family member per row.
    # The shift is monotone, so it is taken after the minimum (64 values, not 64 x n).
    values = _A_COLUMN * shingles
    values += _B_COLUMN
    return (values.min(axis=1) >> _SHIFT).astype(np.uint32)


_TERMS: dict[str, str] = {}  # word -> its term ("" for a stop word), memoised (bounded)


def stem(word: str) -> str:
    """Return a word without a plural or verb ending ("robbers" -> "robber", "disguised" ->
    "disguis"), so that inflections of one word count as one term."""
    if len(word) > 4 and not word[-1].isdigit():
        for suffix in ("ing", "ed", "es", "s"):
            if word.endswith(suffix) and len(word) - len(suffix) >= 4:
                return word[: -len(suffix)]
    return word


def _term(word: str) -> str:
    """Return the term a word counts as: its stem, or "" for a stop word or a lone letter."""
    found = _TERMS.get(word)
    if found is None:
        keep = word not in _STOP and (len(word) > 1 or word.isdigit())
        found = stem(word) if keep else ""
        if len(_TERMS) < MEMO_SIZE:
            _TERMS[word] = found
    return found


def _terms(words: list[str]) -> list[str]:
    """Return each word's term ("" for a stop word)."""
    return _memoised(_TERMS, words, _term)


_WEIGHTS: dict[float, float] = {}  # sublinear weight per count (counts are few and small)
_BOOSTED: dict[float, float] = {}  # a name's weight per weight (x NAME_BOOST)


def keywords(title_words: list[str], text_terms: list[str], names: set[str]) -> dict[str, float]:
    """Return the MAX_KEYWORDS heaviest stemmed terms with their sublinear weights: counts
    of the text's terms (`_terms` of its words; the first MAX_TEXT_WORDS count), title words
    counting more, names boosted, numbers kept."""
    counts = Counter(text_terms[:MAX_TEXT_WORDS])  # counted in C
    counts.pop("", None)
    titled = Counter(_terms(title_words))
    titled.pop("", None)
    for term, count in titled.items():
        counts[term] += count * TITLE_WEIGHT
    # sorted (C, stable) is faster than most_common's heap here and keeps the same order;
    # sorting the terms alone (not (term, count) pairs) saves making and unpacking the pairs.
    chosen = sorted(counts, key=counts.__getitem__, reverse=True)[:MAX_KEYWORDS]
    if not chosen:
        return {}
    values = list(map(counts.__getitem__, chosen))
    for count in set(values).difference(_WEIGHTS):  # counts met the first time
        weight = _WEIGHTS[count] = round(1.0 + math.log(count), 3)
        _BOOSTED[weight] = round(weight * NAME_BOOST, 3)
    out = dict(zip(chosen, map(_WEIGHTS.__getitem__, values), strict=True))  # all in C
    boosted = names.intersection(out)
    out.update(zip(boosted, map(_BOOSTED.__getitem__, map(out.__getitem__, boosted)), strict=True))
    return out


@dataclass
class Signature:
    """What matching needs to know about one document: MinHash values and keyword weights."""

    minhash: np.ndarray
    keywords: dict[str, float]
    item: int = field(default=0, compare=False)  # the item it was made from (0: not known)
    # Where the terms occur in a long text: the first byte is the mask of every part (so their
    # number), then one bit mask per keyword, in the keywords' order (0: only in the title).
    # Empty: the text was not cut.
    parts: bytes = field(default=b"", compare=False)

    def part_masks(self) -> dict[str, int]:
        """Return term -> bit mask of the parts it occurs in ({} when the text was not cut)."""
        return dict(zip(self.keywords, self.parts[1:], strict=False)) if self.parts else {}

    # (index generation, IDF-weighted vector, its norm): redone only when the IDF table changes.
    weighted: tuple[int, dict[str, float], float] | None = field(
        default=None, repr=False, compare=False
    )

    def to_json(self) -> dict[str, Any]:
        """Return the signature as JSON-ready data."""
        out: dict[str, Any] = {"mh": [int(v) for v in self.minhash], "kw": self.keywords}
        if self.item:
            out["item"] = self.item
        if self.parts:
            out["pt"] = list(self.parts)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Signature:
        """Return a signature from its JSON form."""
        keywords = dict(data.get("kw") or {})
        parts = bytes(data.get("pt") or [])
        minhash = np.asarray(data["mh"], dtype=np.uint32)
        return cls(minhash, keywords, int(data.get("item") or 0), parts)


def _ascii_words(text: str) -> list[str]:
    """Return the words of an ASCII text: the same as `_WORD.findall`, faster."""
    return text.translate(_ASCII_SPACES).split()


def signature(title: str, text: str) -> Signature:
    """Return the signature of a document from its title and text."""
    text = unicodedata.normalize("NFKC", text[:20_000])
    title_words = tokens(title)
    # Words are found paragraph by paragraph (the same words as over the whole text: a word
    # never spans a line), so that the parts come without a second pass over the text.
    folded = text.casefold()
    paragraphs = _PARAGRAPH.split(folded)
    if len(paragraphs) < 3:
        paragraphs = folded.split("\n")
    find = _ascii_words if folded.isascii() else _WORD.findall
    counted = [words for words in map(find, paragraphs) if words]
    text_words = list(chain.from_iterable(counted))
    text_terms = _terms(text_words)
    names = set(_terms(" ".join(set(_NAME.findall(text))).casefold().split()))
    terms = keywords(title_words, text_terms, names)
    return Signature(
        minhash(title_words + text_words[:MAX_SIGNATURE_TOKENS]),
        terms,
        parts=_part_masks([len(words) for words in counted], text_terms, terms),
    )


def _part_masks(lengths: list[int], text_terms: list[str], terms: dict[str, float]) -> bytes:
    """Return the parts' masks of a signature (see Signature.parts) from the paragraphs'
    lengths in words and the text's terms; empty for a short text or one of fewer than three
    paragraphs."""
    words = len(text_terms)
    if words < PARTS_MIN_WORDS or len(lengths) < 3:
        return b""
    # Whole paragraphs go to parts of about equal length (a paragraph is never cut).
    size = min(words, MAX_TEXT_WORDS) / PARTS
    sets: list[set[str]] = []
    start = end = 0
    for length in lengths:
        end += length
        if end - start >= size and len(sets) < PARTS - 1:
            sets.append(set(text_terms[start:end]))
            start = end
    if end > start:
        sets.append(set(text_terms[start:end]))
    if len(sets) < 3:
        return b""
    # Each part's membership is one byte (0 or 1) per keyword; read as one big integer and
    # shifted by the part's number, it lands on that bit of every keyword's byte at once (no
    # carry: a byte never exceeds 1 << 7), so OR-ing the parts gives every mask in C.
    total = 0
    for n, found in enumerate(sets):
        total |= int.from_bytes(bytes(map(found.__contains__, terms))) << n
    return bytes([(1 << len(sets)) - 1]) + total.to_bytes(len(terms))  # all, then each keyword's


def signature_pair(pair: tuple[str, str]) -> Signature:
    return signature(*pair)


def jaccard(a: Signature, b: Signature) -> float:
    """Return the estimated Jaccard similarity of two documents' shingle sets."""
    same = a.minhash == b.minhash
    return np.count_nonzero(same) / same.size  # exact, like the mean of the booleans


def _band_keys(sig: Signature) -> list[tuple[int, bytes]]:
    """Return the LSH bucket keys of a signature: (band, that band's bytes)."""
    raw = sig.minhash.tobytes()
    width = len(raw) // BANDS
    return [(band, raw[band * width : (band + 1) * width]) for band in range(BANDS)]
