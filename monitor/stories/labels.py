"""The analyst in the loop: ``monitor story label``.

A label says an article is in the story or out of it, and the matcher never overrides it:
``monitor.poll.record.store_decision`` applies the article's label to whatever ingest,
``redecide`` or ``backfill`` decide, ``redecide`` leaves labelled decisions alone, and a copy
labelled ``in`` stays when its original leaves. Giving a label, in one write transaction:

1. the label is recorded (``storage.labels``: every label a row, the newest counts);
2. an article of the archive the story never decided is decided first, as ``backfill`` would;
3. the story threshold is fitted again from the labelled articles' stored scores
   (``monitor.match.fit``; the configured threshold is the prior) and kept with the story;
4. the article's decision follows its label: it joins (copy stage first, so a copy of a member
   joins as a copy) or leaves (its copies with it) or, for a label that agrees, only its reason
   changes; a label withdrawn (``clear``) gives it back to the matcher at the new threshold;
5. the other decisions are re-decided at the new threshold, as ``monitor story redecide`` does.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from monitor.app import App, StoryRef
from monitor.errors import LabelError
from monitor.log import log
from monitor.match import Decision, MatchSettings, story_bar
from monitor.match.fit import fit_threshold
from monitor.match.label import label_reason, labelled_match, matcher_of, unlabelled_match
from monitor.poll.indexes import Indexes
from monitor.stories.decide import decide_again, history, store_again
from monitor.stories.redecide import Change, copies_leave, leave, redecide_in
from monitor.urls import normalise_url
from storage import articles, labels, members
from storage.db import WriteSession

if TYPE_CHECKING:
    from storage.models import Article, StoryArticle

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Labelled:
    """What a label did: the article's relation before (None: never decided) and after, the
    configured and fitted thresholds, and the other decisions it moved."""

    url: str
    outlet: str
    title: str | None
    value: str
    before: str | None
    after: str
    prior: float
    fitted: float | None
    changes: list[Change]

    @property
    def threshold(self) -> float:
        """The threshold the story decides with now."""
        return self.prior if self.fitted is None else self.fitted


def label(
    app: App, story: StoryRef, url: str, value: str, *, note: str | None, now: datetime
) -> Labelled:
    """Label the article at ``url`` (its stored, canonical or final URL) ``in`` or ``out`` of
    ``story``, or withdraw its label (``clear``); refit the threshold and re-decide the past."""
    with app.db.write() as session:
        article = _labellable(session, story, url, clearing=value == "clear")
        labels.add(
            session, story_id=story.id, article_id=article.id, value=value, note=note, now=now
        )
        indexes = Indexes(app)
        before = _decided(session, indexes, story, article, now)
        prior = app.prior_settings(story).story_threshold
        fitted = refit(session, story.id, prior)
        settings = app.story_settings(story, session)
        after = _follow(session, indexes, story, settings, article, now)
        changes = redecide_in(app, session, story, settings, now)
    log(
        logger,
        "labelled",
        story=story.slug,
        url=article.url,
        label=value,
        before=before,
        after=after,
        threshold=settings.story_threshold,
        moved=len(changes),
    )
    for c in changes:
        log(logger, "redecided", story=story.slug, url=c.url, before=c.before, after=c.after)
    return Labelled(
        article.url, article.outlet, article.title, value, before, after, prior, fitted, changes
    )


def refit(session: WriteSession, story_id: int, prior: float) -> float | None:
    """Fit the story's threshold from its labelled articles' stored scores and keep it; None
    (the configured threshold decides) when no labelled article has a same-story score."""
    given = labels.current_labels(session, story_id)
    scored = [
        (r.score, r.keyword_hits, given[r.article_id].value == "in")
        for r in members.story_scores(session, story_id)
        if r.article_id in given
    ]
    fitted = fit_threshold(scored, prior) if scored else None
    labels.set_fitted(session, story_id, fitted)
    return fitted


def _labellable(session: WriteSession, story: StoryRef, url: str, *, clearing: bool) -> Article:
    """The archived article ``url`` names, with a text, which is not a seed of the story."""
    article = articles.named(session, [url, normalise_url(url)])
    if article is None:
        raise LabelError(f"{url}: no such article in the archive (see: monitor search)")
    if articles.latest_version(session, article.id) is None:
        raise LabelError(
            f"{url}: stored without a text (status {article.status}): nothing to label"
        )
    member = members.membership(session, story.id, article.id)
    if member is not None and member.relation == "seed":
        raise LabelError(
            f"{url}: a seed of story {story.slug!r} (its seed file decides; remove the file to "
            "take it out)"
        )
    if clearing and labels.current(session, story.id, article.id) is None:
        raise LabelError(f"{url}: no label for story {story.slug!r} to clear")
    return article


def _decided(
    session: WriteSession, indexes: Indexes, story: StoryRef, article: Article, now: datetime
) -> str | None:
    """The story's relation to the article before the label; one it never decided is decided
    now, as backfill would (and the label just given applies)."""
    member = members.membership(session, story.id, article.id)
    if member is not None:
        return member.relation
    settings = indexes.get(story, session).settings
    decision, version = decide_again(session, indexes, story, settings, article)
    store_again(
        session, indexes, story, settings, article, decision, decision.as_match(), version, now
    )
    return None


def _follow(
    session: WriteSession,
    indexes: Indexes,
    story: StoryRef,
    settings: MatchSettings,
    article: Article,
    now: datetime,
) -> str:
    """The article's decision made to follow its label (or, withdrawn, the matcher at the
    story's threshold now); its relation after."""
    member = members.decision(session, story.id, article.id)
    given = labels.current(session, story.id, article.id)
    match = unlabelled_match(member.match or {})
    if given is None:
        wanted = _matcher_wants(match, settings.story_threshold)
    else:
        wanted = given.value == "in"
        match = labelled_match(match, given.as_json())
    if wanted == (member.relation != "off_topic"):
        members.relabel(session, member, match)
        return member.relation
    if wanted:
        return _join(session, indexes, story, settings, article, member, match, now)
    members.relabel(session, member, match)
    _leave(session, story, member, match, settings.story_threshold, now)
    return "off_topic"


def _matcher_wants(match: dict[str, Any], threshold: float) -> bool:
    """Whether the matcher's stored verdict puts the article in the story at ``threshold``."""
    if match.get("kind") not in ("same_story", "off_topic"):
        return True  # a copy (or exact text) of a member: the copy stage decides on joining
    scores = match.get("scores") or {}
    needed = story_bar(threshold, scores.get("keyword_hits", 0.0))
    return float(scores.get("score", 0.0)) >= needed


def _join(
    session: WriteSession,
    indexes: Indexes,
    story: StoryRef,
    settings: MatchSettings,
    article: Article,
    member: StoryArticle,
    match: dict[str, Any],
    now: datetime,
) -> str:
    """The article joins: as a copy when the copy stage finds it one of a member, else as an
    original on its stored score (or its label)."""
    decision, version = decide_again(session, indexes, story, settings, article)
    if decision.kind in ("exact", "copy"):
        new = decision.as_match()
    elif decision.kind == "same_story" and matcher_of(match).get("kind") not in (
        "same_story",
        "off_topic",
    ):
        new = decision.as_match()  # it was a copy and is one no longer: scored afresh
    else:
        new = match
        if match.get("kind") != "label":  # withdrawn: the matcher, at the threshold now
            new = _at_threshold(match, settings.story_threshold, "same_story")
        thresholds = new.get("thresholds") or {}
        decision = Decision(
            "same_story", None, None, member.similarity or 0.0, {}, thresholds, str(new["reason"])
        )
    new = {k: v for k, v in new.items() if k != "left_with"} | {"redecided": history(member, now)}
    stored = store_again(session, indexes, story, settings, article, decision, new, version, now)
    return stored.relation


def _leave(
    session: WriteSession,
    story: StoryRef,
    member: StoryArticle,
    match: dict[str, Any],
    threshold: float,
    now: datetime,
) -> None:
    """The article leaves the story, and its copies with it (but those labelled ``in``)."""
    if match.get("kind") == "label":
        why, extra = label_reason(match["label"]), {}
        kept = (match.get("thresholds") or {}).get("story", threshold)
    else:  # withdrawn: the matcher, at the threshold now
        new = _at_threshold(match, threshold, "off_topic")
        why, extra, kept = str(new["reason"]), {"kind": "off_topic"}, threshold
    url = articles.get_article(session, member.article_id).url
    leave(session, story, member, why, extra, float(kept), now)
    copies_leave(session, story, member.article_id, url, threshold, now)
    members.note_members_left(session, story.id)


def _at_threshold(match: dict[str, Any], threshold: float, kind: str) -> dict[str, Any]:
    """A withdrawn label's decision as the matcher makes it at ``threshold``."""
    scores = match.get("scores") or {}
    needed = story_bar(threshold, scores.get("keyword_hits", 0.0))
    sign = ">=" if kind == "same_story" else "<"
    why = (
        f"label withdrawn; at story_threshold {threshold}: score "
        f"{float(scores.get('score', 0.0)):.3f} {sign} {needed:.3f} needed"
    )
    thresholds = (match.get("thresholds") or {}) | {"story": threshold}
    return match | {"kind": kind, "thresholds": thresholds, "reason": why}
