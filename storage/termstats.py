"""Document frequencies of the story stage's terms, kept in the database as articles are stored.

The story stage weighs terms by TF-IDF against the whole archive. Counting the archive's terms
afresh would read every stored text at every round (0.6 ms a text: a minute at 100,000
articles); instead each stored version adds its terms and takes away its predecessor's, so the
table always counts the newest version of every article, and a round reads only this table.
Increments are upserts, safe with several writers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy import insert as insert_rows
from sqlalchemy.orm import Session

from storage import meta
from storage.db import WriteSession
from storage.models import TermDf

MARKER = "term_df"
DOCS = ""  # the row that counts documents
# Both backends spell the upsert alike, run as the driver's own SQL: through SQLAlchemy's
# statement handling the few hundred terms of an article cost SQLAlchemy work per row (the
# round's thread: 2.1 against 1.4 ms for 300 terms on SQLite, benchmarks/README.md "ingest.py").
# PostgreSQL takes the terms as one array, in their order (rows locked in term order).
_TABLE = TermDf.__tablename__
_COUNT_ONE_MORE = {
    "sqlite": f"INSERT INTO {_TABLE} (term, df) VALUES (?, 1) "
    f"ON CONFLICT (term) DO UPDATE SET df = {_TABLE}.df + 1",
    "postgresql": f"INSERT INTO {_TABLE} (term, df) "
    "SELECT t, 1 FROM unnest(%(terms)s::text[]) WITH ORDINALITY AS u (t, n) ORDER BY n "
    f"ON CONFLICT (term) DO UPDATE SET df = {_TABLE}.df + 1",
}


def apply(
    session: WriteSession, added: Collection[str], removed: Collection[str], *, new_doc: bool
) -> None:
    """Count ``added`` terms once more and ``removed`` ones once less; ``new_doc`` counts one
    more document."""
    terms = [*added, DOCS] if new_doc else list(added)
    if terms:
        connection = session.connection()
        dialect = connection.dialect.name
        ordered = sorted(terms)  # writers lock rows in order
        if dialect == "postgresql":
            connection.exec_driver_sql(_COUNT_ONE_MORE[dialect], {"terms": ordered})
        else:
            connection.exec_driver_sql(_COUNT_ONE_MORE[dialect], [(t,) for t in ordered])
    if removed:
        session.execute(
            update(TermDf).where(TermDf.term.in_(sorted(removed))).values(df=TermDf.df - 1)
        )


def insert(session: WriteSession, df: Counter[str], docs: int) -> None:
    """Fill the emptied table with counts made elsewhere (a recount)."""
    rows = [{"term": DOCS, "df": docs}, *({"term": t, "df": n} for t, n in df.items())]
    for start in range(0, len(rows), 10_000):
        session.execute(insert_rows(TermDf), rows[start : start + 10_000])


# Built once: looked up at nearly every decision.
_DF_OF = select(TermDf.term, TermDf.df).where(TermDf.term.in_(bindparam("terms", expanding=True)))


def lookup(session: Session, terms: Collection[str]) -> dict[str, int]:
    """The document frequency of each of ``terms`` that occurs anywhere."""
    wanted = sorted(terms)
    found: dict[str, int] = {}
    for start in range(0, len(wanted), 5_000):  # SQLite binds at most 32,766 parameters
        chunk = wanted[start : start + 5_000]
        rows = session.execute(_DF_OF, {"terms": chunk})
        found.update((term, int(df)) for term, df in rows)
    return found


def documents(session: Session) -> int:
    """How many documents the frequencies count."""
    return int(session.scalar(select(TermDf.df).where(TermDf.term == DOCS)) or 0)


def built_with(session: Session) -> str | None:
    """The term definition the table was counted with (``monitor.match.story.TERMS_VERSION``)."""
    return meta.get(session, MARKER)


def reset(session: WriteSession, version: str) -> None:
    """Empty the table before a recount, and record the term definition it will hold."""
    session.execute(delete(TermDf))
    meta.put(session, MARKER, version)
