"""The database schema.

sources ──< entries >── articles ──< article_versions
                            │
stories ──< story_articles >┘      (membership: seed, original, copy or off_topic, with the reason)
   └──────< lsh_buckets            (the copy stage's index: members' versions by band key)
   └──────< story_events           (the timeline: first_report, copy, update, removed,
                                     redirected, dropped, each with its detail)
   └──────< digest_outbox          (one digest per recipient and period, built before sent;
                                     digest_events: the events each showed)
   └────── story_facts             (its facts as found at its current version)
   └──────< story_labels           (the analyst's labels: in, out or clear, newest counts)
term_df                            (document frequencies of the story stage's terms)
meta                               (what the derived tables above were built with)
archive_requests                   (a backfill's answered requests to the web archives)
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, column_property, mapped_column, relationship

from storage.types import UTCDateTime

# BigInteger ids on PostgreSQL, INTEGER PRIMARY KEY (rowid) on SQLite.
Id = BigInteger().with_variant(Integer, "sqlite")


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        list[str]: JSON(),
    }


class Source(Base):
    """A feed or sitemap polled on a schedule; its state is the poll queue."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    url: Mapped[str] = mapped_column(String(2048), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    domain: Mapped[str] = mapped_column(String(255))
    interval_s: Mapped[float] = mapped_column(Float)
    active: Mapped[bool] = mapped_column(default=True)
    next_check_at: Mapped[datetime]
    claimed_until: Mapped[datetime | None]
    last_checked_at: Mapped[datetime | None]
    last_ok_at: Mapped[datetime | None]
    last_status: Mapped[int | None]
    etag: Mapped[str | None] = mapped_column(String(512))
    last_modified: Mapped[str | None] = mapped_column(String(64))
    body_sha256: Mapped[str | None] = mapped_column(String(64))
    error_kind: Mapped[str | None] = mapped_column(String(32))
    error_message: Mapped[str | None] = mapped_column(Text)
    error_count: Mapped[int] = mapped_column(default=0)
    failing_since: Mapped[datetime | None]
    items_seen: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    # What the schedule learned: the interval adapted to how often the source publishes (kept
    # across 304s, which carry no entries), and why the next check is when it is.
    learned_interval_s: Mapped[float | None] = mapped_column(Float)
    next_check_reason: Mapped[str | None] = mapped_column(String(64))
    # rss20, atom10, json11, sitemap, ... as the parser named the last body it read.
    format: Mapped[str | None] = mapped_column(String(32))
    # The per-source robots.txt override from the configuration (article pages only).
    obey_robots: Mapped[bool] = mapped_column(default=True)

    __table_args__ = (Index("ix_sources_due", "active", "next_check_at"),)


class Entry(Base):
    """A feed entry seen on a source; its key is the GUID or the normalised link."""

    __tablename__ = "entries"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(2048))
    url: Mapped[str] = mapped_column(String(2048))
    title: Mapped[str | None] = mapped_column(Text)
    updated: Mapped[str | None] = mapped_column(String(64))
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id", ondelete="SET NULL"))

    __table_args__ = (UniqueConstraint("source_id", "key", name="uq_entries_source_key"),)


class Article(Base):
    """One page at one (normalised) URL, with its re-check schedule. (Migration 0014 indexes
    ``coalesce(published_at, first_seen_at)`` for search's date filters, outside the model:
    SQLAlchemy cannot read such an index back to compare it.)"""

    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    url: Mapped[str] = mapped_column(String(2048), unique=True)
    canonical_url: Mapped[str | None] = mapped_column(String(2048), index=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id", ondelete="SET NULL"))
    outlet: Mapped[str] = mapped_column(String(200))
    domain: Mapped[str] = mapped_column(String(255))
    title: Mapped[str | None] = mapped_column(Text)
    authors: Mapped[list[str]] = mapped_column(default=list)
    language: Mapped[str | None] = mapped_column(String(16))
    published_at: Mapped[datetime | None]
    # "day" when the page gives only the date (published_at is then midnight UTC), "time"
    # when it gives the time too; null when unknown.
    published_precision: Mapped[str | None] = mapped_column(String(8))
    updated_at: Mapped[datetime | None]
    first_seen_at: Mapped[datetime]
    last_fetched_at: Mapped[datetime | None]
    next_check_at: Mapped[datetime | None] = mapped_column(index=True)
    # A re-check's claim (storage.queue.claim_articles): no other process fetches it until then.
    claimed_until: Mapped[datetime | None]
    check_count: Mapped[int] = mapped_column(default=0)
    # ok | not_article | error | removed
    status: Mapped[str] = mapped_column(String(16), default="ok")
    error: Mapped[str | None] = mapped_column(Text)
    removed_at: Mapped[datetime | None]
    etag: Mapped[str | None] = mapped_column(String(512))
    last_modified: Mapped[str | None] = mapped_column(String(64))
    # Where the last fetch of the page ended, after redirects; where a tracked article started
    # redirecting to another page (a ``redirected`` event names it).
    final_url: Mapped[str | None] = mapped_column(String(2048))
    redirected_to: Mapped[str | None] = mapped_column(String(2048))

    versions: Mapped[list[ArticleVersion]] = relationship(
        back_populates="article", order_by="ArticleVersion.version", cascade="all, delete-orphan"
    )


class ArticleVersion(Base):
    """The text of an article as fetched; a new row only when the normalised text or title
    changes."""

    __tablename__ = "article_versions"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    version: Mapped[int]
    fetched_at: Mapped[datetime]
    title: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    content_sha256: Mapped[str] = mapped_column(String(64), index=True)
    word_count: Mapped[int]
    shingle_count: Mapped[int]
    # MinHash hash values, little-endian uint32, num_perm of them.
    minhash: Mapped[bytes] = mapped_column(LargeBinary)
    changes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # What changed from the previous version: the sentence alignment (null for version 1),
    # the change kinds with the evidence that decided each, and the earlier version whose text
    # and title this one returns to (an A/B headline flipping back).
    diff: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    kinds: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list, server_default="[]")
    returns_to: Mapped[int | None]
    authors: Mapped[list[str]] = mapped_column(default=list, server_default="[]")
    # The evidence of the fetch that found this version, so every claim can be checked: the
    # HTTP status and validators, the URL it ended at, and the page as fetched (compressed;
    # ``html_size`` is its size before compression; null when [storage] keep_html is off).
    http_status: Mapped[int | None]
    etag: Mapped[str | None] = mapped_column(String(512))
    last_modified: Mapped[str | None] = mapped_column(String(64))
    final_url: Mapped[str | None] = mapped_column(String(2048))
    # Deferred: read only when asked for (storage.articles.version_html), not with every version;
    # html_kept says whether it is there without reading it. html_size is recorded whenever the
    # page was read, kept or not.
    html: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    html_size: Mapped[int | None]
    html_kept: Mapped[bool] = column_property(html.is_not(None))
    # The correction and update notices the page showed, each {"kind", "text"} (0009): what a
    # later version's page shows anew is announced, the rest is not.
    notices: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list, server_default="[]")
    # Where the text was read (0015): null for the outlet's own page, "wayback" for a capture.
    evidence: Mapped[str | None] = mapped_column(String(16))

    article: Mapped[Article] = relationship(back_populates="versions")

    __table_args__ = (UniqueConstraint("article_id", "version", name="uq_versions_article"),)


class LshBucket(Base):
    """One LSH bucket of a story: the versions of its members (seeds, originals, copies) whose
    signature has ``key`` in ``band``, as packed entries (storage.lsh.pack). The copy stage's
    index, shared by every process and kept across restarts: two versions are candidate copies
    when they share a bucket (see monitor.match.signature). Entries carry no foreign key to
    their articles, which are never deleted; a deleted story takes its buckets with it."""

    __tablename__ = "lsh_buckets"

    story_id: Mapped[int] = mapped_column(
        Id, ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True
    )
    band: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    key: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    members: Mapped[bytes] = mapped_column(LargeBinary)

    # The primary key is the lookup index; on SQLite the rows live in it (WITHOUT ROWID): most
    # buckets hold one 8-byte entry.
    __table_args__ = ({"sqlite_with_rowid": False},)


class TermDf(Base):
    """Document frequencies of the story stage's terms over the archive (the newest version of
    every stored article): the background of TF-IDF, kept as articles are stored so no round
    reads every text. The row with the empty term counts the documents."""

    __tablename__ = "term_df"

    term: Mapped[str] = mapped_column(Text, primary_key=True)
    df: Mapped[int]


class TermDfQueued(Base):
    """One stored version's change to ``term_df``, not yet folded into it: its terms added and
    removed, newline-separated, and 1 if it is an article's first version. Counts as much as
    the table does (storage.termstats): a version's transaction writes one row here, where it
    wrote a few hundred to ``term_df``, and a later transaction folds many at once."""

    __tablename__ = "term_df_queue"
    # Ids never reused within a database (SQLite's AUTOINCREMENT; a sequence on PostgreSQL): a
    # process remembers the rows it has read by id (storage.termstats._Queue). It checks each
    # row's content too, so a reused id would only cost it a second parse.
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(primary_key=True)
    added: Mapped[str] = mapped_column(Text)
    removed: Mapped[str] = mapped_column(Text)
    docs: Mapped[int]


class ArchiveRequest(Base):
    """A request a backfill made to a web archive or news search service and got an answer
    to (0015): asked again, it is answered from here, so a backfill resumes and asks nothing
    twice."""

    __tablename__ = "archive_requests"

    url_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    status: Mapped[int]
    final_url: Mapped[str | None] = mapped_column(Text)
    body: Mapped[bytes | None] = mapped_column(LargeBinary)  # gzipped
    answered_at: Mapped[datetime]


class Meta(Base):
    """Facts about the database itself, such as the band geometry the LSH table was built with."""

    __tablename__ = "meta"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Story(Base):
    __tablename__ = "stories"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(Text)
    keywords: Mapped[list[str]] = mapped_column(default=list)
    # Grows by one with every change to the story file.
    version: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # The story threshold fitted from the analyst's labels (monitor.match.fit); None: no label.
    fitted_threshold: Mapped[float | None] = mapped_column(Float)
    # A digest sender's lease on the story (storage.digests.claim); None or past: free.
    digest_claimed_until: Mapped[datetime | None]


class StoryArticle(Base):
    """The decision on one article for one story, with its reason."""

    __tablename__ = "story_articles"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"))
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    # seed | original | copy | off_topic
    relation: Mapped[str] = mapped_column(String(16))
    copy_of_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id", ondelete="SET NULL"))
    similarity: Mapped[float | None]
    match: Mapped[dict[str, Any]] = mapped_column(default=dict)
    decided_at: Mapped[datetime]

    article: Mapped[Article] = relationship(foreign_keys=[article_id])
    copy_of: Mapped[Article | None] = relationship(foreign_keys=[copy_of_id])

    __table_args__ = (
        UniqueConstraint("story_id", "article_id", name="uq_story_articles"),
        Index("ix_story_articles_relation", "story_id", "relation"),
    )


class StoryEvent(Base):
    """One line of a story's timeline."""

    __tablename__ = "story_events"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"))
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    recorded_at: Mapped[datetime]
    # first_report | copy | update | removed | redirected | dropped (monitor.stories.redecide)
    event: Mapped[str] = mapped_column(String(16))
    article_version: Mapped[int | None]
    story_version: Mapped[int]
    # What the event changed, enough to rebuild the story as it stood at this version: the
    # decision for first_report and copy, the change kinds for update, the target of a redirect.
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")

    article: Mapped[Article] = relationship()

    __table_args__ = (Index("ix_story_events_story", "story_id", "id"),)


class StoryFacts(Base):
    """A story's facts (monitor.match.facts) as found at one story version: finding them reads
    every member's text, so it is done once per version, not at every export."""

    __tablename__ = "story_facts"

    story_id: Mapped[int] = mapped_column(
        Id, ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True
    )
    story_version: Mapped[int]
    facts: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    found_at: Mapped[datetime]


class StoryLabel(Base):
    """One label the analyst gave an article for a story: ``in``, ``out``, or ``clear`` (the
    label withdrawn). Every label is a row; the newest of an article counts."""

    __tablename__ = "story_labels"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"))
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    value: Mapped[str] = mapped_column(String(8))
    note: Mapped[str | None] = mapped_column(Text)
    labelled_at: Mapped[datetime]

    __table_args__ = (Index("ix_story_labels_article", "story_id", "article_id", "id"),)


class Digest(Base):
    """One digest of one story for one recipient and period, built and recorded before it is
    sent (a transactional outbox): its message is stored whole, so a resend is the same bytes
    with the same Message-ID. ``state``: pending, sending (claimed until ``claimed_until``),
    sent or failed. The events it shows are its ``digest_events`` rows."""

    __tablename__ = "digest_outbox"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"))
    # The address; "" when no recipient is configured and digests only go to the outbox folder.
    recipient: Mapped[str] = mapped_column(String(320))
    # The schedule's slot (a cron fire time, or when an "immediately" digest was built): one
    # digest per recipient, story and period, whatever the number of builders.
    period: Mapped[datetime]
    created_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    claimed_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    last_reply: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(Text)
    message: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    events: Mapped[int]
    delivered_to: Mapped[str | None] = mapped_column(Text)  # an SMTP URL (no password) or a path

    __table_args__ = (
        UniqueConstraint("story_id", "recipient", "period", name="uq_digest_outbox_period"),
        Index("ix_digest_outbox_due", "state", "next_attempt_at"),
    )


class DigestEvent(Base):
    """An event a digest showed: the recipient's next digest of the story starts after it."""

    __tablename__ = "digest_events"

    digest_id: Mapped[int] = mapped_column(
        Id, ForeignKey("digest_outbox.id", ondelete="CASCADE"), primary_key=True
    )
    event_id: Mapped[int] = mapped_column(
        Id, ForeignKey("story_events.id", ondelete="CASCADE"), primary_key=True, index=True
    )
