"""The members' terms as postings (each term: the members that have it, with their term
frequency), so that neither a decision nor a stored article rebuilds every member's vector.

Every stored article changes the document count, and with it every member's TF-IDF weights:
rebuilt each time, the member vectors cost a story of 5,000 members a quarter of a second per
article. Here no member vector is kept. An article's cosine with every member is one pass over
the postings of the article's own terms (numpy). A member's norm comes from three sums over its
terms, with idf_t = c - h_t, c = 1 + log(1 + docs) and h_t = log(1 + df_t):

    |m|^2 = c^2 A - 2c B + C,   A = sum tf^2,   B = sum tf^2 h,   C = sum tf^2 h^2

so a change in the document count costs nothing, and a change in a term's frequency only that
term's postings. B and C are integer sums (fixed point, ``_SCALE``), each term's part rounded on
its own: they hold the same bits whatever order documents were counted in, so a process that
has just started decides as one that counted every article since, and the sums kept up to date
equal the sums made afresh (tests/test_match.py proves it).

The scores equal ``story.weights`` and ``story.cosine``'s up to rounding (relative 1e-11 at
most: the fixed point's 2^-40 per term, and the norm's three sums): a decision could differ only
for a score within that of the threshold, or two anchors within that of each other.
"""

from __future__ import annotations

import math
from array import array
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from monitor.match import story

Vector = dict[str, float]
Normed = tuple[Vector, float]

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

# Fixed point of B and C: a term's part tf^2 h^2 stays under 5,000 (tf under 5, df under a
# million), a member under 300 terms: sums under 2^61.
_SCALE = float(2**40)
# Postings whose parts of B and C move together (``Postings.df_changed``): 64k postings make
# arrays of about 4 MB in all, and a chunk's numpy calls cost the same per posting as one.
_CHUNK = 1 << 16


def _h(df: int) -> float:
    return math.log(1 + max(df, 0))


def _tfs(counts: Mapping[str, float]) -> dict[str, float]:
    """Each term's frequency as the vectors weigh it: ``1 + log count``."""
    return {t: 1 + math.log(c) for t, c in counts.items()}


def idf(df: int, docs: int) -> float:
    """The factor ``story.weights`` gives a term, computed the same way (same bits)."""
    return math.log((1 + docs) / (1 + df)) + 1


class _Postings:
    """One term's members (rows) with their ``tf``, in C arrays that grow as they are appended
    to (``array``: 16 bytes a posting, one C call an append), read as numpy arrays. Three numpy
    arrays a term, written one element at a time, were a third of building a 5,000-member
    story's index."""

    __slots__ = ("cached", "rows", "tf")

    def __init__(self) -> None:
        self.rows = array("q")
        self.tf = array("d")
        self.cached: tuple[Ints, Floats] | None = None

    def arrays(self) -> tuple[Ints, Floats]:
        """The rows and tf of every posting, as read-only numpy arrays made once until the
        next append (which empties ``cached``). A decision reads a few hundred terms' postings
        and a stored article moves as many terms' frequencies, while postings change only with
        a member: made at every read, the arrays cost 0.2 CPU ms a page. The tf * tf the norms
        need is made where they are: scoring an article reads the tf alone."""
        read = self.cached
        if read is None:
            rows, tf = np.array(self.rows, dtype=np.int64), np.array(self.tf, dtype=np.float64)
            rows.flags.writeable = tf.flags.writeable = False
            read = self.cached = (rows, tf)
        return read


class _Grown:
    """A growing array of one dtype."""

    def __init__(self, dtype: type) -> None:
        self.data: npt.NDArray[Any] = np.zeros(16, dtype=dtype)
        self.n = 0

    def append(self, value: float | int | bool) -> int:
        if self.n == len(self.data):
            self.data = np.concatenate([self.data, np.zeros_like(self.data)])
        self.data[self.n] = value
        self.n += 1
        return self.n - 1

    @property
    def view(self) -> npt.NDArray[Any]:
        return self.data[: self.n]


def _parts(tf2: Floats, h: float | Floats) -> tuple[Ints, Ints]:
    """Each posting's share of B and C, in fixed point: rounded each on its own (half to even),
    so that a member's sums are integers whatever order they are added in."""
    b = tf2 * h
    return np.rint(b * _SCALE).astype(np.int64), np.rint(b * h * _SCALE).astype(np.int64)


class Postings:
    """Every member's term frequencies, by term, and the sums of its norm.

    Each term is kept once (its id in ``_ids``), and a member's terms as two C arrays: their
    ids and counts, in the order ``story.story_terms`` gave them (the order its weighted
    vector, and every sum over it, follows). A dict of a hundred terms per member, each with
    its own string and float objects, was a third of a 5,000-member story's index in memory
    (24 MB of 67 traced)."""

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}  # term: its id
        self._terms: list[str] = []  # id: term
        self._postings: list[_Postings] = []  # id: its postings
        self._members: dict[int, tuple[array[int], array[float]]] = {}  # ids and counts
        self._row: dict[int, int] = {}  # member: its row; in the order first added
        self._a, self._b, self._c = _Grown(float), _Grown(np.int64), _Grown(np.int64)
        self._alive = _Grown(bool)  # a member's earlier terms leave a dead row
        self._rows_cache: Ints | None = None

    def __len__(self) -> int:
        return len(self._row)

    def __iter__(self) -> Iterator[int]:
        return iter(self._row)

    def __contains__(self, article_id: object) -> bool:
        return article_id in self._row

    def counts(self, article_id: int) -> dict[str, float]:
        """The member's terms as ``story.story_terms`` gave them (same order, same values)."""
        ids, counts = self._members[article_id]
        terms = self._terms
        return {terms[i]: c for i, c in zip(ids, counts, strict=True)}

    def row(self, article_id: int) -> int:
        return self._row[article_id]

    def _term_ids(self, terms: Collection[str]) -> array[int]:
        """Each term's id, a new one for a term not seen before."""
        known = self._ids
        for t in [t for t in terms if t not in known]:
            known[t] = len(self._terms)
            self._terms.append(t)
            self._postings.append(_Postings())
        return array("i", map(known.__getitem__, terms))

    def set(self, article_id: int, counts: dict[str, float], df: Mapping[str, int]) -> None:
        """A member's terms, new or changed (its old row left dead)."""
        if article_id in self._row:
            self._alive.data[self._row[article_id]] = False
        tfs = _tfs(counts)
        row = self._alive.append(True)
        ids = self._term_ids(tfs)
        postings = self._postings
        # The appends inline: a method call per posting was a tenth of building the index.
        for i, tf in zip(ids, tfs.values(), strict=True):
            p = postings[i]
            p.rows.append(row)
            p.tf.append(tf)
            p.cached = None
        tf_values = np.fromiter(tfs.values(), dtype=np.float64, count=len(tfs))
        h = np.fromiter((_h(df.get(t, 0)) for t in tfs), dtype=np.float64, count=len(tfs))
        pb, pc = _parts(tf_values * tf_values, h)
        self._a.append(sum(v * v for v in tfs.values()))
        self._b.append(int(pb.sum()))
        self._c.append(int(pc.sum()))
        self._members[article_id] = (ids, array("d", counts.values()))
        self._row[article_id] = row
        self._rows_cache = None

    def df_changed(self, changes: Iterable[tuple[str, int, int]]) -> None:
        """Terms' document frequencies moved from ``old`` to ``new``: their postings' parts of
        B and C follow (a term's rows are distinct, so one indexed add per term), a chunk of
        terms at a time: the first decision provides every member's terms at once (half a
        million postings at 5,000 members), and their arrays together were a 44 MB peak."""
        chunk: list[tuple[_Postings, int, int]] = []
        size = 0
        ids, postings = self._ids, self._postings
        for term, old, new in changes:
            i = ids.get(term)  # most terms moved are in no member
            if i is None or old == new:
                continue
            p = postings[i]
            chunk.append((p, old, new))
            size += len(p.rows)
            if size >= _CHUNK:
                self._move_parts(chunk)
                chunk, size = [], 0
        if chunk:
            self._move_parts(chunk)

    def _move_parts(self, chunk: list[tuple[_Postings, int, int]]) -> None:
        rows, tf2, old_h, new_h, lengths = [], [], [], [], []
        for p, old, new in chunk:
            its_rows, its_tf = p.arrays()
            rows.append(its_rows)
            tf2.append(its_tf * its_tf)
            old_h.append(_h(old))
            new_h.append(_h(new))
            lengths.append(len(its_rows))
        at, squared = np.concatenate(rows), np.concatenate(tf2)
        # Each term's h repeated over its postings in one call (an array per term was half of
        # this method's cost at 5,000 members).
        ob, oc = _parts(squared, np.repeat(old_h, lengths))
        nb, nc = _parts(squared, np.repeat(new_h, lengths))
        # A row takes a part from each of its terms: add.at sums repeated rows (exactly, in
        # integers, so neither the order nor the chunks matter).
        np.add.at(self._b.data, at, nb - ob)
        np.add.at(self._c.data, at, nc - oc)

    def recount(self, df: Mapping[str, int]) -> None:
        """B and C made afresh (the frequencies were replaced)."""
        self._b.data[:] = 0
        self._c.data[:] = 0
        for term, p in zip(self._terms, self._postings, strict=True):
            rows, tf = p.arrays()
            pb, pc = _parts(tf * tf, _h(df.get(term, 0)))
            self._b.data[rows] += pb
            self._c.data[rows] += pc

    def norms(self, docs: int) -> Floats:
        """Every row's norm at ``docs`` documents."""
        c = 1 + math.log(1 + docs)
        a = self._a.view
        b = self._b.view.astype(float) / _SCALE
        cc = self._c.view.astype(float) / _SCALE
        squared = c * c * a - 2 * c * b + cc
        return np.sqrt(np.maximum(squared, 0.0))

    def members_rows(self) -> Ints:
        if self._rows_cache is None:
            self._rows_cache = np.fromiter(self._row.values(), dtype=np.int64, count=len(self))
        return self._rows_cache

    def dots(self, vector: Vector, df: Mapping[str, int], docs: int) -> Floats:
        """Every row's dot product with ``vector`` (weighted by ``story.weights``)."""
        rows, tfs, idfs, weights, lengths = [], [], [], [], []
        ids, postings = self._ids, self._postings
        for t, w in vector.items():
            i = ids.get(t)
            if i is None:
                continue
            its_rows, tf = postings[i].arrays()
            rows.append(its_rows)
            tfs.append(tf)
            idfs.append(idf(df.get(t, 0), docs))
            weights.append(w)
            lengths.append(len(tf))
        if not rows:
            return np.zeros(self._alive.n)
        # w * (tf * idf) for every posting, in two calls over all of them, not two a term:
        # the same products in the same order (a product's bits do not depend on which side
        # each factor is), so the same bits.
        values = np.concatenate(tfs) * np.repeat(idfs, lengths)
        values *= np.repeat(weights, lengths)
        summed = np.bincount(np.concatenate(rows), weights=values, minlength=self._alive.n)
        return summed.astype(np.float64, copy=False)


class MemberVectors:
    """The members' weighted vectors at one moment of the term statistics, read by the story
    stage: each member's cosine with an article (or with another member), and a member's
    vector. Iterates the members in the order they were first added."""

    def __init__(self, postings: Postings, df: Counter[str], docs: int) -> None:
        self._p, self._df, self._docs = postings, df, docs
        self._norms: Floats | None = None

    def __iter__(self) -> Iterator[int]:
        return iter(self._p)

    def __len__(self) -> int:
        return len(self._p)

    def __contains__(self, article_id: object) -> bool:
        return article_id in self._p

    def _row_norms(self) -> Floats:
        if self._norms is None:
            self._norms = self._p.norms(self._docs)
        return self._norms

    def __getitem__(self, article_id: int) -> Normed:
        """A member's weighted vector and norm."""
        vector = story.weights(self._p.counts(article_id), self._df, self._docs)
        return vector, float(self._row_norms()[self._p.row(article_id)])

    def cosines(self, article: Normed, among: Sequence[int] | None = None) -> dict[int, float]:
        """The cosine with ``article`` (a weighted vector and its norm) of each member
        ``among`` (every member when None), in that order."""
        vector, norm = article
        if among is None:
            among, rows = list(self._p), self._p.members_rows()
        else:
            rows = np.fromiter(map(self._p.row, among), dtype=np.int64, count=len(among))
        norms = self._row_norms()[rows]
        dots = self._p.dots(vector, self._df, self._docs)[rows]
        with np.errstate(divide="ignore", invalid="ignore"):
            cos = np.where((norms > 0) & (norm > 0), dots / (norm * norms), 0.0)
        return dict(zip(among, cos.tolist(), strict=True))

    def unit_tf(self, article_id: int) -> Vector:
        """A member's term frequencies (``1 + log count``) as a unit vector: its terms before
        the document frequencies weigh them, so the same whatever the archive has counted."""
        tfs = _tfs(self._p.counts(article_id))
        length = math.sqrt(sum(v * v for v in tfs.values()))
        return {t: v / length for t, v in tfs.items()} if length else {}

    def idfs(self, terms: Sequence[str]) -> Floats:
        """The idf of each of ``terms`` under the statistics as they stand (``idf``'s, in one
        numpy pass: a centroid has a thousand terms or more)."""
        df = np.fromiter((self._df.get(t, 0) for t in terms), dtype=np.float64, count=len(terms))
        idfs: Floats = np.log((1 + self._docs) / (1 + df)) + 1
        return idfs

    def member_cosines(self, article_id: int) -> dict[int, float]:
        """Every member's cosine with member ``article_id``."""
        return self.cosines(self[article_id])
