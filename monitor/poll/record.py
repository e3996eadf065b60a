"""Recording what the pipeline read and decided, inside the caller's write transaction: a
version with its term statistics, one story's decision with its timeline event, and a member's
entries in the band table.

Ingest (``monitor.poll.ingest``, ``monitor.poll.recheck``), the seed sync
(``monitor.stories.seeding``) and deciding again (``monitor.stories.redecide``, ``backfill``) all
record through these, so that a version, a decision or a member is stored the same way
whichever of them stores it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from monitor.match import (
    Decision,
    Fingerprint,
    MatchSettings,
    band_keys,
    fingerprint,
    minhash_from_bytes,
)
from monitor.match.label import apply_label
from monitor.match.story import TermChange
from storage import articles, details, labels, lsh, members, stories, termstats
from storage.db import WriteSession

# The extractor (trafilatura, 0.1 s of imports) is only a type here: storing the seeds at a
# command's start records no notice.
if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from monitor.extract import Notice
    from storage.models import Article, ArticleVersion


def store_version(
    session: WriteSession,
    article: Article,
    *,
    title: str | None,
    text: str,
    fp: Fingerprint,
    now: datetime,
    changes: dict[str, Any],
    previous: ArticleVersion | None,
    change: articles.Change | None = None,
    authors: Sequence[str] = (),
    notices: Sequence[Notice] = (),
    evidence: articles.Evidence | None = None,
) -> tuple[ArticleVersion, TermChange]:
    """Store ``text`` as the article's next version after ``previous`` (its newest, as the
    caller read it in this transaction; None for the first), with its fingerprint, what it
    changed, its byline and notices and the evidence of its fetch, and count its terms in place
    of the predecessor's in the document frequencies (returned, for the indexes in memory)."""
    terms = TermChange.between(previous.text if previous else None, text)
    termstats.apply(session, terms.added, terms.removed, new_doc=terms.new_doc)
    version = articles.add_version(
        session,
        article,
        fetched_at=evidence.seen_at if evidence and evidence.seen_at else now,
        title=title,
        text=text,
        content_sha256=fp.sha256,
        word_count=fp.word_count,
        shingle_count=len(fp.shingles),
        minhash=fp.minhash_bytes(),
        changes=changes,
        change=change,
        authors=authors,
        notices=[{"kind": n.kind, "text": n.text} for n in notices],
        evidence=evidence,
        # The caller read ``previous`` in this transaction: the number needs no query.
        number=previous.version + 1 if previous is not None else 1,
    )
    return version, terms


def store_decision(
    session: WriteSession,
    story_id: int,
    article: Article,
    decision: Decision,
    match: dict[str, Any],
    *,
    version: int,
    at: datetime,
    now: datetime,
    fresh: bool = False,
) -> Decision:
    """Store one story's decision on ``article`` with ``match`` as its reason and, unless it is
    off-topic, its event on the timeline with the decision as its detail; then the copy group
    it leads re-pointed at it, each member moved with a ``repointed`` event (after its own
    event, so that at every story version the members point at an article in the story).

    An article the analyst labelled is decided by its label, whatever ``decision`` says (the
    matcher's verdict is kept in the reason): the decision stored is returned. ``fresh``: the
    article was inserted by this transaction, so it has no label and no membership to read."""
    label = None if fresh else labels.current(session, story_id, article.id)
    if label is not None:
        decision, match = apply_label(decision, match, label.as_json())
    was = None if fresh else details.before(members.membership(session, story_id, article.id))
    row = members.record_decision(
        session,
        story_id=story_id,
        article_id=article.id,
        relation=decision.relation,
        copy_of_id=decision.matched_id if decision.relation == "copy" else None,
        similarity=decision.similarity,
        match=match,
        now=now,
        new=fresh,
    )
    if decision.relation != "off_topic":
        stories.add_event(
            session,
            story_id=story_id,
            article_id=article.id,
            event="copy" if decision.relation == "copy" else "first_report",
            at=at,
            now=now,
            article_version=version,
            detail=details.decided(session, row, article, was=was),
        )
    if decision.leads_group and decision.matched_id is not None:
        _repoint(session, story_id, decision.matched_id, article, now)
    return decision


def _repoint(
    session: WriteSession, story_id: int, old_id: int, article: Article, now: datetime
) -> None:
    """``article`` leads the copy group ``old_id`` led: the group re-pointed at it, a
    ``repointed`` event for each member moved."""
    moved = members.repoint_copy_group(
        session, story_id=story_id, old_id=old_id, new_id=article.id, new_url=article.url, now=now
    )
    for m in moved:
        stories.add_event(
            session,
            story_id=story_id,
            article_id=m.row.article_id,
            event="repointed",
            at=now,
            now=now,
            article_version=None,
            detail=details.repointed(
                session,
                m.row,
                relation_before=m.relation_before,
                copy_of_before=m.copy_of_before,
                because=article.url,
            ),
        )


def index_member(
    session: WriteSession, settings: MatchSettings, story_id: int, article_id: int
) -> None:
    """Put every version of a story's member into the band table (a no-op for those in it)."""
    for version, signature in lsh.article_signatures(session, article_id):
        bands = member_bands(session, settings, article_id, version, signature)
        lsh.add(session, story_id, article_id, version, bands)


def member_bands(
    session: Session, settings: MatchSettings, article_id: int, version: int, signature: bytes
) -> list[tuple[int, int]]:
    """A stored version's band keys: from its signature, or from its text when the signature
    was made with another ``num_perm``."""
    minhash = minhash_from_bytes(signature)
    if len(minhash.hashvalues) != settings.num_perm:
        stored = articles.version_text(session, article_id, version)
        minhash = fingerprint(stored or "", settings).minhash
    return band_keys(minhash, settings)
