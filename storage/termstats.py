"""Document frequencies of the story stage's terms, kept in the database as articles are stored.

The story stage weighs terms by TF-IDF against the whole archive. Counting the archive's terms
afresh would read every stored text at every round (0.6 ms a text: a minute at 100,000
articles); instead each stored version adds its terms and takes away its predecessor's, so the
counts always cover the newest version of every article, and a round reads only the terms it
needs.

A version's change is queued (``term_df_queue``: one row, its terms newline-separated) in the
version's own transaction, and folded into ``term_df`` with many others by a later transaction
(``fold``, when ``due``). Upserting each version's few hundred terms in its own transaction
cost the round's thread about 1 ms a page, much of it SQLite writing the table's pages to its
log at every commit (benchmarks/README.md). Until a row is folded, the table and the queue count
together: ``lookup`` and ``documents`` read both in one statement, so in one snapshot
(PostgreSQL's read committed gives each statement its own), and a fold in between cannot have
a row counted twice or not at all. A row is queued with its version and moved by a fold in one
transaction, so a crash anywhere leaves it counted once: in the queue or in the table.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Collection, Iterable
from typing import Any

from sqlalchemy import CompoundSelect, bindparam, delete, null, select, union_all
from sqlalchemy import insert as insert_rows
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from storage import meta
from storage.db import WriteSession
from storage.models import TermDf, TermDfQueued

MARKER = "term_df"
DOCS = ""  # the row that counts documents
# The queue is folded once a process has seen it this long (``due``): every lookup reads every
# queued row, so it is kept short.
FOLD_AT = 64
_TABLE = TermDf.__tablename__
_QUEUE = TermDfQueued.__tablename__
# Run as the driver's own SQL: through SQLAlchemy's statement handling, a statement run at
# every page costs more than SQLite spends running it. Both backends spell the upsert alike;
# PostgreSQL takes the terms as arrays, in their order (rows locked in term order).
_QUEUE_ONE = {
    "sqlite": f"INSERT INTO {_QUEUE} (added, removed, docs) VALUES (?, ?, ?)",
    "postgresql": f"INSERT INTO {_QUEUE} (added, removed, docs) VALUES (%s, %s, %s)",
}
_ADD = {
    "sqlite": f"INSERT INTO {_TABLE} (term, df) VALUES (?, ?) "
    f"ON CONFLICT (term) DO UPDATE SET df = {_TABLE}.df + excluded.df",
    "postgresql": f"INSERT INTO {_TABLE} (term, df) "
    "SELECT t, n FROM unnest(%(terms)s::text[], %(counts)s::int[]) WITH ORDINALITY AS u (t, n, o) "
    f"ORDER BY o ON CONFLICT (term) DO UPDATE SET df = {_TABLE}.df + excluded.df",
}
# Built once: run at nearly every decision. The table's rows of the terms asked, then every
# queued row (with no term), in one statement.
_COUNTED: CompoundSelect[Any] = union_all(
    select(TermDf.term, TermDf.df, null(), null(), null()).where(
        TermDf.term.in_(bindparam("terms", expanding=True))
    ),
    select(null(), TermDfQueued.id, TermDfQueued.added, TermDfQueued.removed, TermDfQueued.docs),
)
_TAKE = delete(TermDfQueued).returning(TermDfQueued.added, TermDfQueued.removed, TermDfQueued.docs)


def apply(
    session: WriteSession, added: Collection[str], removed: Collection[str], *, new_doc: bool
) -> None:
    """Count ``added`` terms once more and ``removed`` ones once less, and with ``new_doc`` one
    more document: queued, in the caller's transaction."""
    if not (added or removed or new_doc):
        return
    connection = session.connection()
    row = ("\n".join(sorted(added)), "\n".join(sorted(removed)), int(new_doc))
    connection.exec_driver_sql(_QUEUE_ONE[connection.dialect.name], row)
    queue = _queue(session)
    with queue.lock:
        queue.written += 1


def fold(session: WriteSession) -> int:
    """Move every queued row into the table, one change a term; returns how many rows moved.
    Several processes may fold at once: each row is taken (deleted) by one of them."""
    delta: Counter[str] = Counter()
    rows = session.execute(_TAKE).all()
    for added, removed, docs in rows:
        _count(delta, (added, removed, docs), 1)
    changes = [(t, delta[t]) for t in sorted(delta) if delta[t]]  # writers lock rows in order
    if changes:
        connection = session.connection()
        dialect = connection.dialect.name
        if dialect == "postgresql":
            terms, counts = zip(*changes, strict=True)
            connection.exec_driver_sql(
                _ADD[dialect], {"terms": list(terms), "counts": list(counts)}
            )
        else:
            connection.exec_driver_sql(_ADD[dialect], changes)
    queue = _queue(session)
    with queue.lock:  # read afresh at the next lookup, whether this commits or not
        queue.seen(())
    return len(rows)


def due(url: URL) -> bool:
    """Whether the queue of the database at ``url`` is long enough to fold: as this process
    last read it, with the rows it has written since (a round whose articles bring no term to
    look up reads no queue, and would otherwise never see it grow)."""
    queue = _queues.get(url)
    return queue is not None and len(queue.rows) + queue.written >= FOLD_AT


def insert(session: WriteSession, df: Counter[str], docs: int) -> None:
    """Fill the emptied table with counts made elsewhere (a recount)."""
    rows = [{"term": DOCS, "df": docs}, *({"term": t, "df": n} for t, n in df.items())]
    for start in range(0, len(rows), 10_000):
        session.execute(insert_rows(TermDf), rows[start : start + 10_000])


def lookup(session: Session, terms: Collection[str]) -> dict[str, int]:
    """The document frequency of each of ``terms`` that occurs anywhere."""
    wanted = sorted(terms)
    found: dict[str, int] = {}
    for start in range(0, len(wanted), 5_000):  # SQLite binds at most 32,766 parameters
        chunk = wanted[start : start + 5_000]
        table, queued = _read(session, chunk)
        for term in chunk:
            if term in table or term in queued:
                found[term] = table.get(term, 0) + queued.get(term, 0)
    return found


def documents(session: Session) -> int:
    """How many documents the frequencies count."""
    table, queued = _read(session, [DOCS])
    return table.get(DOCS, 0) + queued.get(DOCS, 0)


def built_with(session: Session) -> str | None:
    """The term definition the table was counted with (``monitor.match.story.TERMS_VERSION``)."""
    return meta.get(session, MARKER)


def reset(session: WriteSession, version: str) -> None:
    """Empty the table before a recount, and record the term definition it will hold."""
    session.execute(delete(TermDf))
    session.execute(delete(TermDfQueued))  # the recount counts what they held
    meta.put(session, MARKER, version)


def _count(counts: Counter[str], row: tuple[str, str, int], sign: int) -> None:
    """A queued row (its terms added and removed, its new documents) counted into ``counts``,
    or out of them with ``sign`` -1."""
    # Counting a row out is counting its removed terms in and its added ones out.
    added, removed, docs = row if sign > 0 else (row[1], row[0], -row[2])
    # Counter.update counts in C (a fold counts some 16,000 terms: 7.6 ms one by one, in
    # Python); subtract is a loop in Python, for what is rarer: removed terms, rows gone.
    if added:
        counts.update(added.split("\n"))
    if removed:
        counts.subtract(removed.split("\n"))
    counts[DOCS] += docs


class _Queue:
    """One database's queued rows as this process last read them, each parsed once, and what
    they add up to (``DOCS``: the documents)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.rows: dict[int, tuple[str, str, int]] = {}
        self.df: Counter[str] = Counter()
        self.written = 0  # rows this process queued since it last read the queue

    def seen(self, rows: Iterable[tuple[int, str, str, int]]) -> dict[str, int]:
        """The queue as one statement read it: rows new since, or gone, counted in or out.
        A row is known by its id and checked by its content (a database replaced by another at
        the same URL numbers its rows afresh). Returns the sum, to read before the next call."""
        now: dict[int, tuple[str, str, int]] = {}
        for row_id, added, removed, docs in rows:
            now[row_id] = (added, removed, docs)
        self.written = 0
        if not now:  # folded: no terms left at 0 to carry, and none to count out
            self.rows, self.df = now, Counter()
            return self.df
        for row_id, row in now.items():
            known = self.rows.get(row_id)
            if known != row:
                _count(self.df, row, 1)
                if known is not None:
                    _count(self.df, known, -1)
        for row_id in self.rows.keys() - now.keys():
            _count(self.df, self.rows[row_id], -1)
        self.rows = now
        return self.df


_queues: dict[URL, _Queue] = {}
_queues_lock = threading.Lock()


def _read(session: Session, terms: list[str]) -> tuple[dict[str, int], dict[str, int]]:
    """The table's counts of ``terms`` and the queue's sums, read in one statement."""
    table: dict[str, int] = {}
    queued: list[tuple[int, str, str, int]] = []
    for term, number, added, removed, docs in session.execute(_COUNTED, {"terms": terms}):
        if term is None:
            queued.append((number, added, removed, docs))
        else:
            table[term] = int(number)
    queue = _queue(session)
    with queue.lock:
        sums = queue.seen(queued)
        return table, {t: sums[t] for t in terms if sums.get(t)}


def _queue(session: Session) -> _Queue:
    url = session.get_bind().engine.url
    with _queues_lock:
        return _queues.setdefault(url, _Queue())
