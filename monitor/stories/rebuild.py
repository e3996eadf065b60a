"""The derived tables, rebuilt at start when what derives them changed: the band table (the copy
stage's LSH index) when ``[match] num_perm`` or ``candidate_threshold`` changed its geometry,
the document frequencies when the story stage's term definition changed; each also when it was
never built (a database from before the table).

Each is recorded in ``meta`` with what it was built with, so a start that changes nothing reads
one row and goes on.
"""

from __future__ import annotations

import logging
from collections import Counter

from monitor.log import log
from monitor.match import MatchSettings, lsh_params
from monitor.match.story import TERMS_VERSION, document_terms
from monitor.poll.record import member_bands
from storage import articles, lsh, termstats
from storage.db import Database

logger = logging.getLogger(__name__)
# Versions indexed per write when the band table is rebuilt: buckets shared within a chunk are
# written once, and progress is logged after each.
REBUILD_CHUNK = 10_000


def band_table(db: Database, settings: MatchSettings) -> None:
    """Rebuild the band table when it was built with another geometry, or never: from the
    stored signatures (their texts only when ``num_perm`` changed)."""
    n_bands, rows = lsh_params(settings.candidate_threshold, settings.num_perm)
    geometry = f"{n_bands} bands x {rows} rows of {settings.num_perm}"
    with db.write() as session:
        if lsh.geometry(session) == geometry:
            return
        lsh.reset(session, geometry)
        versions = lsh.member_versions(session)
        for start in range(0, len(versions), REBUILD_CHUNK):
            chunk = versions[start : start + REBUILD_CHUNK]
            lsh.fill(
                session,
                [(s, a, v, member_bands(session, settings, a, v, sig)) for s, a, v, sig in chunk],
            )
            done = start + len(chunk)
            log(logger, "lsh_rebuild_progress", versions=done, of=len(versions))
    log(logger, "lsh_rebuilt", geometry=geometry, versions=len(versions))


def term_frequencies(db: Database) -> None:
    """Count the document frequencies again when the term definition changed, or never was:
    once, from the newest text of every article."""
    with db.write() as session:
        if termstats.built_with(session) == TERMS_VERSION:
            return
        termstats.reset(session, TERMS_VERSION)
        df: Counter[str] = Counter()
        docs = 0
        for docs, text in enumerate(articles.latest_texts(session), start=1):
            df.update(document_terms(text))
            if docs % 10_000 == 0:
                log(logger, "term_df_progress", texts=docs)
        termstats.insert(session, df, docs)
    log(logger, "term_df_counted", texts=docs, terms=len(df), version=TERMS_VERSION)
