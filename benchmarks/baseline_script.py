"""The claim to beat (issue 16): a user's 30-line ingest script, as one would write it.

feedparser for the feeds, trafilatura (default options) for the pages, datasketch MinHash
(``update_batch`` over word 5-shingles) and ``MinHashLSH`` to mark near-copies, and one
SQLAlchemy ORM commit per article. No schedule, politeness, versions, story or recovery: what
benchmarks/ingest.py compares the project's poll with.

Run: ``python benchmarks/baseline_script.py sqlite:///script.sqlite FEED_URL ...``
"""

import sys

import feedparser
import httpx
import trafilatura
from datasketch import MinHash, MinHashLSH
from sqlalchemy import LargeBinary, String, Text, create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column


class Base(DeclarativeBase):
    pass


class Article(Base):
    __tablename__ = "articles"
    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2048), unique=True)
    title: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    minhash: Mapped[bytes] = mapped_column(LargeBinary)
    copy_of: Mapped[str | None] = mapped_column(String(2048))


def ingest(db_url: str, feed_urls: list[str]) -> int:
    """Every feed's entries fetched, extracted, deduplicated and stored; returns how many."""
    engine = create_engine(db_url)
    Base.metadata.create_all(engine)
    lsh, stored = MinHashLSH(threshold=0.5, num_perm=128), 0
    with httpx.Client(timeout=30) as client, Session(engine) as session:
        for feed_url in feed_urls:
            for entry in feedparser.parse(client.get(feed_url).content).entries:
                html = client.get(entry.link).text
                text = trafilatura.extract(html, url=entry.link) or ""
                words = text.split()
                shingles = {" ".join(words[i : i + 5]).encode() for i in range(len(words))}
                mh = MinHash(num_perm=128)
                mh.update_batch(list(shingles))
                near = lsh.query(mh)
                lsh.insert(entry.link, mh)
                session.add(
                    Article(
                        url=entry.link,
                        title=entry.get("title"),
                        text=text,
                        minhash=mh.hashvalues.tobytes(),
                        copy_of=near[0] if near else None,
                    )
                )
                session.commit()
                stored += 1
    return stored


if __name__ == "__main__":
    print(ingest(sys.argv[1], sys.argv[2:]))
