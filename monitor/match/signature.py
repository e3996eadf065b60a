"""Near-duplicate signatures: a text's fingerprint, shingle hashes, MinHash, and its LSH bands.

Pure. The signatures are datasketch's own: the permutation parameters come from datasketch for
our seed, and the values equal what ``MinHash.update_batch`` computes on the same 32-bit shingle
hashes (a test holds us to it), so they compare with, and index into, any datasketch structure.
What we skip is datasketch's per-value Python work: each shingle is hashed once with numpy and
the 128 permutations are applied to all of them in one array operation.

datasketch is imported where a signature is first made, not with this module: its package
imports SciPy (about 0.3 s), which commands that make no signature need not wait for.
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from monitor import text as textmod
from monitor.match.decision import MatchSettings
from monitor.match.geometry import lsh_params

if TYPE_CHECKING:
    from datasketch import LeanMinHash, MinHash

_SEED = 1
_SCHEME = "affine32"  # datasketch 2's default; signatures are stored as uint32
_MAX = np.uint32(0xFFFFFFFF)
# Rows of shingles permuted at a time: bounds the temporary array (rows x num_perm x 4 bytes)
# for very long texts and keeps it in cache.
_CHUNK = 2048


class _LSHSettings(Protocol):
    @property
    def num_perm(self) -> int: ...

    @property
    def candidate_threshold(self) -> float: ...


def _token_ids(tokens: Sequence[bytes]) -> np.ndarray:
    """CRC-32 of each token's UTF-8 bytes."""
    return np.fromiter(map(zlib.crc32, tokens), dtype=np.uint64, count=len(tokens))


_FNV = np.uint64(0x100000001B3)  # FNV-64 prime; wrapping uint64 arithmetic is intended
_MIX = np.uint64(0xBF58476D1CE4E5B9)
_SHIFT29, _SHIFT32 = np.uint64(29), np.uint64(32)


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    # np.unique does the same with several times the overhead on arrays this small.
    values = np.sort(values)
    if len(values) < 2:
        return values
    keep = np.empty(len(values), dtype=bool)
    keep[0] = True
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep]


def shingle_hashes(tokens: Sequence[str], k: int) -> np.ndarray:
    """Stable 32-bit hashes of the k-word shingles of ``tokens`` (a text shorter than k words is
    one shingle), sorted and unique."""
    return shingle_hashes_of_bytes([t.encode("utf-8") for t in tokens], k)


def shingle_hashes_of_bytes(tokens: Sequence[bytes], k: int) -> np.ndarray:
    """``shingle_hashes`` of tokens already encoded (``monitor.text.word_bytes``)."""
    ids = _token_ids(tokens)
    if len(ids) == 0:
        return np.zeros(0, dtype=np.uint64)
    if len(ids) < k:
        k = len(ids)
    n = len(ids) - k + 1
    acc = np.zeros(n, dtype=np.uint64)
    for j in range(k):
        acc *= _FNV
        acc += ids[j : j + n]
        acc += np.uint64(j + 1)
    acc ^= acc >> _SHIFT29
    acc *= _MIX
    acc >>= _SHIFT32
    return _sorted_unique(acc)


def _identity(value: int) -> int:
    return value


@functools.cache
def _permutations(num_perm: int) -> tuple[np.ndarray, np.ndarray]:
    """datasketch's permutation parameters (a, b) for our seed and scheme, made once."""
    from datasketch import MinHash

    m = MinHash(num_perm=num_perm, seed=_SEED, hashfunc=_identity, scheme=_SCHEME)
    a, b = m.permutations
    return np.asarray(a, dtype=np.uint32), np.asarray(b, dtype=np.uint32)


def _fmix32(h: np.ndarray) -> np.ndarray:
    """The MurmurHash3 finalizer datasketch applies to each input hash (affine32 scheme)."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    mixed: np.ndarray = h ^ (h >> np.uint32(16))
    return mixed


def signature_values(shingles: np.ndarray, num_perm: int) -> np.ndarray:
    """The MinHash values (uint32, one per permutation) of 32-bit shingle hashes: the minimum of
    ``a * fmix(h) + b`` (mod 2**32) over all shingles, as datasketch computes it."""
    a, b = _permutations(num_perm)
    out = np.full(num_perm, _MAX, dtype=np.uint32)
    h = _fmix32(np.asarray(shingles, dtype=np.uint64).astype(np.uint32))
    for start in range(0, len(h), _CHUNK):
        # One row per permutation, so the minimum runs along contiguous memory; uint32
        # arithmetic wraps, which is the modulo.
        block = np.multiply.outer(a, h[start : start + _CHUNK])
        block += b[:, None]
        np.minimum(out, block.min(axis=1), out=out)
    return out


def minhash_of(shingles: np.ndarray, num_perm: int) -> LeanMinHash:
    """A datasketch LeanMinHash of shingles that are already hashed to 32 bits."""
    from datasketch import LeanMinHash

    return LeanMinHash(seed=_SEED, hashvalues=signature_values(shingles, num_perm), scheme=_SCHEME)


def minhash_from_bytes(data: bytes) -> LeanMinHash:
    """A stored signature (``Fingerprint.minhash_bytes``) back as a LeanMinHash."""
    values = np.frombuffer(data, dtype="<u4").astype(np.uint32)
    from datasketch import LeanMinHash

    return LeanMinHash(seed=_SEED, hashvalues=values, scheme=_SCHEME)


def lsh_bands(minhash: LeanMinHash | MinHash, settings: _LSHSettings) -> list[tuple[int, bytes]]:
    """The LSH band keys of a signature, for an index kept in a database table: one
    ``(band, key)`` per band, the key being the band's hash values as little-endian uint32
    bytes. Two signatures share a key in some band exactly when datasketch's MinHashLSH with
    ``candidate_threshold`` would return one for the other."""
    bands, rows = lsh_params(settings.candidate_threshold, settings.num_perm)
    data = np.asarray(minhash.hashvalues, dtype=np.uint32)[: bands * rows].astype("<u4").tobytes()
    width = 4 * rows
    return [(i, data[i * width : (i + 1) * width]) for i in range(bands)]


_KEY_MIX = np.uint64(0x9E3779B97F4A7C15)


def band_keys(minhash: LeanMinHash | MinHash, settings: _LSHSettings) -> list[tuple[int, int]]:
    """``lsh_bands`` as ``(band, key)`` with the key a signed 64-bit integer, what the
    database's band table indexes. With two rows per band (the default geometry) the key is the
    two 32-bit values side by side, so it is exact; with more rows the values are folded into
    64 bits, where a collision only proposes a candidate that the exact check then rejects."""
    bands, rows = lsh_params(settings.candidate_threshold, settings.num_perm)
    values = np.asarray(minhash.hashvalues, dtype=np.uint64)[: bands * rows].reshape(bands, rows)
    if rows <= 2:
        keys = values[:, 0] | (values[:, -1] << _SHIFT32) if rows == 2 else values[:, 0]
    else:
        keys = np.zeros(bands, dtype=np.uint64)
        for j in range(rows):
            keys ^= values[:, j]
            keys *= _KEY_MIX
            keys ^= keys >> _SHIFT29
    return list(enumerate(keys.view(np.int64).tolist()))


@dataclass(frozen=True)
class Fingerprint:
    sha256: str
    word_count: int
    shingles: np.ndarray  # sorted unique 32-bit shingle hashes (as uint64)
    minhash: LeanMinHash

    def minhash_bytes(self) -> bytes:
        data: bytes = self.minhash.hashvalues.astype("<u4").tobytes()
        return data


def fingerprint(text: str, settings: MatchSettings) -> Fingerprint:
    """What the copy stages compare and the database stores: the content hash, the word count,
    the shingle hashes and their MinHash signature (a datasketch LeanMinHash)."""
    tokens = textmod.word_bytes(text)
    shingles = shingle_hashes_of_bytes(tokens, settings.shingle_size)
    return Fingerprint(
        # textmod.content_sha256 of the same text, without tokenising it a second time
        sha256=textmod.sha256_of_words(tokens),
        word_count=len(tokens),
        shingles=shingles,
        minhash=minhash_of(shingles, settings.num_perm),
    )
