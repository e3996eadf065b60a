"""What the commands print: plain data in, lines of text (or JSON objects) out. No I/O and no
library imports at run time, so a command can format its answer without loading anything."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from monitor.extract import Extracted
    from monitor.poll.report import RoundReport
    from monitor.publish.digest import Delivered
    from monitor.sources.manage import Appended, SourceStatus
    from monitor.stories.backfill import Backfill
    from monitor.stories.labels import Labelled
    from monitor.stories.past import Past
    from monitor.stories.redecide import Change
    from storage.articles import Stored
    from storage.digests import Status as DigestStatus
    from storage.labels import Labelled as LabelRow
    from storage.members import Explanation, StoryScore
    from storage.stories import StorySummary


def emit(lines: Iterable[str]) -> None:
    """Print each line (a line may hold a newline of its own)."""
    for line in lines:
        print(line)


def json_line(row: Any) -> str:
    return json.dumps(row, ensure_ascii=False)


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


# --- poll, digest, extract -----------------------------------------------------------------------


def poll_report(report: RoundReport, digests: int) -> str:
    return (
        f"polled {report.sources_polled} sources ({report.sources_failed} failed, "
        f"{report.sources_unchanged} unchanged), {report.articles_new} new articles: "
        f"{report.originals} original, {report.copies} copies, {report.off_topic} off-topic, "
        f"{report.not_articles} not articles; {report.updates} updated, "
        f"{report.removed} removed; {digests} digests"
    )


def failed_sources(report: RoundReport) -> str:
    return (
        f"{report.sources_failed} of {report.sources_polled} sources failed (see: monitor sources)"
    )


def digests_sent(delivered: Sequence[Delivered]) -> list[str]:
    if not delivered:
        return ["no digest due: nothing new, or not yet time by the schedules"]
    return [
        f"{d.story} to {d.recipient or 'the outbox'}: {d.result} ({d.reply}) -> {d.delivered_to}"
        for d in delivered
    ]


def digest_status(rows: Sequence[DigestStatus], *, as_json: bool) -> list[str]:
    """One line per digest, newest first: tab-separated text, or one JSON object each."""
    if as_json:
        # Every field of storage.digests.Status, times as ISO 8601.
        return [
            json_line({k: _iso(v) if hasattr(v, "isoformat") else v for k, v in vars(r).items()})
            for r in rows
        ]
    if not rows:
        return ["no digest yet"]
    return [
        "\t".join(
            [
                str(r.id),
                _iso(r.period) or "",
                r.story,
                r.recipient or "(outbox)",
                r.state,
                f"{r.attempts} attempt{'' if r.attempts == 1 else 's'}",
                r.last_reply or "",
            ]
        )
        for r in rows
    ]


def extracted(source: str, e: Extracted) -> dict[str, Any]:
    """One line of ``monitor extract``: the contract's fields, then the status and precisions."""
    return {
        "source": source,
        "title": e.title,
        "text": e.text,
        "authors": list(e.authors),
        "published_at": _iso(e.published_at),
        "updated_at": _iso(e.updated_at),
        "canonical_url": e.canonical_url,
        "language": e.language,
        "site_name": e.site_name,
        "word_count": e.word_count,
        # ok, too_short, paywalled or not_article; the reason is null when ok.
        "status": e.status,
        "status_reason": e.status_reason,
        # "day": the page gives only the day, and the time above is midnight UTC.
        "published_precision": e.published_precision,
        "updated_precision": e.updated_precision,
        # The page's own correction and update notices, as the page words them.
        "notices": [{"kind": n.kind, "text": n.text} for n in e.notices],
    }


# --- story -------------------------------------------------------------------------------------


def story_list(rows: Sequence[StorySummary], *, as_json: bool) -> list[str]:
    if as_json:
        out = [{**r.__dict__, "updated_at": r.updated_at.isoformat()} for r in rows]
        return [json.dumps(out, ensure_ascii=False, indent=2)]
    if not rows:
        return ["no stories (add a [[story]] table to the configuration)"]
    return [
        f"{r.slug}\tv{r.version}\t{r.outlets} outlets\t{r.articles} articles "
        f"({r.copies} copies, {r.off_topic} off-topic)\t{r.title}"
        for r in rows
    ]


@dataclass(frozen=True)
class Scored:
    """A same-story decision seen at a threshold: what it needed there, by how much it cleared
    it (negative: fell short), and whether that threshold would decide it otherwise."""

    row: StoryScore
    needed: float
    margin: float
    flips: bool


def scores_json(shown: Sequence[Scored]) -> list[str]:
    lines = []
    for s in shown:
        row = {**s.row.__dict__, "needed": s.needed, "margin": round(s.margin, 4)}
        row["decided_at"] = s.row.decided_at.isoformat()
        row["would_be"] = "same_story" if s.margin >= 0 else "off_topic"
        lines.append(json_line(row))
    return lines


def scores_text(
    slug: str, total: int, shown: Sequence[Scored], threshold: float | None
) -> list[str]:
    """The decisions ``shown`` (of ``total``), margin first, under a heading saying at which
    threshold they are seen."""
    if not total:
        return [f"{slug}: no article has been through the same-story stage yet"]
    which = f"the {len(shown)} nearest the threshold" if len(shown) < total else "all"
    at = "it was decided with" if threshold is None else str(threshold)
    lines = [
        f"{slug}: {total} articles scored by the same-story stage, {which}, by how far "
        f"they scored above what they need at the story threshold {at} (half with a keyword)",
        f"{'score':>6} {'needed':>6} {'margin':>7}  {'decided':9}  outlet: title / url",
    ]
    for s in shown:
        r = s.row
        decided = "in story" if r.kind == "same_story" else "off-topic"
        flip = "  (would flip)" if s.flips else ""
        if r.label is not None:
            flip = f"  (labelled {r.label}: {_RELATIONS[r.relation]})"
        lines.append(
            f"{r.score:6.3f} {s.needed:6.3f} {s.margin:+7.3f}  {decided:9}  "
            f"{r.outlet}: {r.title or ''}{flip}\n{'':35}{r.url}"
        )
        if r.shared_terms:
            lines.append(f"{'':35}shared: {', '.join(t.lstrip('#') for t in r.shared_terms)}")
    return lines


_RELATIONS = {"original": "in story", "copy": "in story", "off_topic": "off-topic"}


def thresholds_line(prior: float, fitted: float | None) -> str:
    """The story's configured threshold, and the one fitted from its labels when it has some."""
    if fitted is None:
        return f"story_threshold {prior} (configured; no label has fitted one)"
    return f"story_threshold {fitted} (fitted from its labels; configured {prior})"


def suggestions(slug: str, shown: Sequence[Scored], threshold: float) -> list[str]:
    """The unlabelled articles nearest the line at ``threshold``: each one's label would move
    the line most."""
    if not shown:
        return [f"{slug}: no unlabelled article has been through the same-story stage"]
    lines = [
        f"{slug}: the {len(shown)} unlabelled articles nearest the line at story_threshold "
        f"{threshold} (label them: monitor story label {slug} URL in|out)",
        f"{'score':>6} {'bar':>6} {'margin':>7}  {'relation':9}  outlet: title / url",
    ]
    for s in shown:
        r = s.row
        lines.append(
            f"{r.score:6.3f} {s.needed:6.3f} {s.margin:+7.3f}  {r.relation:9}  "
            f"{r.outlet}: {r.title or ''}\n{'':35}{r.url}"
        )
    return lines


def labelled_json(slug: str, done: Labelled) -> dict[str, Any]:
    return {
        "story": slug,
        "url": done.url,
        "label": done.value,
        "before": done.before,
        "after": done.after,
        "thresholds": {"configured": done.prior, "fitted": done.fitted},
        "moved": [c.__dict__ for c in done.changes],
    }


def labelled(slug: str, done: Labelled) -> list[str]:
    """What ``story label`` did: the article, the threshold now, the decisions it moved."""
    what = "label withdrawn" if done.value == "clear" else f"labelled {done.value}"
    lines = [
        f"{slug}: {what}: {done.outlet}: {done.title or ''}\n  {done.url}",
        f"  {done.before or 'never decided'} -> {done.after}",
        f"  decides with {thresholds_line(done.prior, done.fitted)}",
    ]
    if done.changes:
        lines += redecided(slug, done.threshold, done.changes, dry_run=False)
    else:
        lines.append(f"{slug}: no other decision moved")
    return lines


def label_row(r: LabelRow) -> dict[str, Any]:
    return {
        "url": r.url,
        "outlet": r.outlet,
        "title": r.title,
        "label": r.label.as_json(),
        "relation": r.relation,
        "labels_given": r.given,
    }


def labels_table(slug: str, rows: Sequence[LabelRow], fitted: float | None) -> list[str]:
    if not rows:
        return [f"{slug}: no labelled article (monitor story label {slug} URL in|out)"]
    fit = f", fitted story_threshold {fitted}" if fitted is not None else ""
    lines = [
        f"{slug}: {len(rows)} labelled articles{fit}, newest label first",
        f"{'label':5}  {'relation':9}  {'labelled at':25}  outlet: title / url / note",
    ]
    for r in rows:
        lines.append(
            f"{r.label.value:5}  {r.relation or '-':9}  {r.label.at.isoformat():25}  "
            f"{r.outlet}: {r.title or ''}\n{'':45}{r.url}"
        )
        if r.label.note:
            lines.append(f"{'':45}note: {r.label.note}")
    return lines


def flips_summary(slug: str, threshold: float, flipped: Sequence[StoryScore]) -> str:
    joins = sum(r.relation == "off_topic" for r in flipped)
    leaves = len(flipped) - joins
    return (
        f"at {threshold}: {joins} would join the story and {leaves} leave it, with "
        "their copies (set it as the story's story_threshold, then: monitor story redecide "
        f"{slug})"
    )


def redecided(
    slug: str, threshold: float, changes: Sequence[Change], *, dry_run: bool
) -> list[str]:
    joined = [c for c in changes if c.after != "off_topic"]
    copies = sum(c.after == "copy" for c in joined)
    verb = "would change" if dry_run else "changed"
    lines = [
        f"{slug}: at story_threshold {threshold}, {len(changes)} decisions {verb}: "
        f"{len(joined)} joining the story ({copies} as copies), "
        f"{len(changes) - len(joined)} leaving it"
    ]
    for c in changes:
        lines.append(f"{c.before:>9} -> {c.after:9}  {c.outlet}: {c.title or ''}\n{'':25}{c.url}")
        lines.append(f"{'':25}{c.reason}")
    return lines


def backfilled(slug: str, done: Backfill, *, off_topic: bool) -> str:
    again = f" ({done.joined} of them judged off-topic before)" if off_topic else ""
    return (
        f"{slug}: decided {done.articles} articles of the archive: {done.originals} new "
        f"reporting, {done.copies} copies{again}, {done.off_topic} off-topic"
    )


def past_counts(past: Past) -> dict[str, object]:
    """What a backfill from an archive did, as the JSON line prints it."""
    report = past.report
    return {
        "listings": past.listings,
        "unreadable": past.unreadable,
        "articles": report.articles_new,
        "originals": report.originals,
        "copies": report.copies,
        "off_topic": report.off_topic,
        "from_captures": past.from_captures,
        "versions": past.versions,
        "live_versions": past.live,
        "stopped": past.stopped,
    }


def rebuilt(slug: str, origin: str, past: Past) -> str:
    report = past.report
    line = (
        f"{slug}: from {origin}: {past.listings} listings read ({past.unreadable} unreadable), "
        f"{report.articles_new} new articles: {report.originals} new reporting, "
        f"{report.copies} copies, {report.off_topic} off-topic; {past.from_captures} pages "
        f"read from captures; {past.versions} past versions, {past.live} from today's pages"
    )
    if past.stopped:
        line += f"\nstopped early: {past.stopped}; run the same command again to continue"
    return line


# --- search and explain --------------------------------------------------------------------------


_VERDICTS = {
    "seed": "is a seed of",
    "original": "is new reporting in",
    "copy": "is a copy in",
    "off_topic": "was judged off-topic for",
}


def undecided(article: Stored) -> list[str]:
    """An article stored but in no story's decisions, and why that may be."""
    lines = [f"{article.outlet}: {article.title or article.url}"]
    if not article.versions:
        why = f": {article.error}" if article.error else ""
        lines.append(f"  stored but never matched: status {article.status}{why}")
    else:
        lines.append(
            "  stored, but no story has decided it: its source feeds none of the configured "
            "stories, or the story was added after it (monitor story backfill SLUG)"
        )
    return lines


def explanation(r: Explanation) -> list[str]:
    """One story's decision on an article, with the reason, scores and thresholds it kept."""
    lines = [
        f"{r.outlet}: {r.title or r.url}\n  {_VERDICTS[r.relation]} story {r.story!r} "
        f"(decided {r.decided_at.isoformat()})"
    ]
    if r.copy_of:
        lines.append(f"  copy of: {r.copy_of}")
    if r.match.get("reason"):
        lines.append(f"  because: {r.match['reason']}")
    label = r.match.get("label")
    if r.match.get("kind") == "label" and label:
        matcher = r.match.get("matcher") or {}
        lines.append(f"  label: {label['value']} (given {label['at']})")
        lines.append(f"  the matcher said: {matcher.get('kind')}: {matcher.get('reason')}")
    for name in ("scores", "thresholds"):
        values = r.match.get(name) or {}
        if values:
            lines.append(f"  {name}: " + ", ".join(f"{k} {v}" for k, v in values.items()))
    for before in r.match.get("redecided") or []:
        lines.append(
            f"  re-decided {before['at']} (monitor story redecide): before, "
            f"{before['relation']} at story_threshold {before['story_threshold']}"
        )
    return lines


# --- sources -----------------------------------------------------------------------------------


def source_states(rows: Sequence[SourceStatus], *, as_json: bool) -> list[str]:
    if as_json:
        return [json.dumps([r.as_json() for r in rows], ensure_ascii=False, indent=2)]
    if not rows:
        return ["no sources (add one with: monitor sources add URL)"]
    return [r.as_line() for r in rows]


def imported(done: Appended, path: str) -> list[str]:
    lines = [f"skipped {source.url}: {problem}" for source, problem in done.invalid]
    lines.append(
        f"{len(done.added)} added to {path}; skipped {len(done.present)} already there "
        f"and {len(done.invalid)} with an invalid URL"
    )
    return lines


# --- story facts -------------------------------------------------------------------------------


def lag(seconds: int) -> str:
    """A carrier's lag behind the first report: ``+35m``, ``+16h50m``, ``+1d02h35m``."""
    days, rest = divmod(max(seconds, 0), 86400)
    hours, minutes = rest // 3600, rest % 3600 // 60
    if days:
        return f"+{days}d{hours:02}h{minutes:02}m"
    return f"+{hours}h{minutes:02}m" if hours else f"+{minutes}m"


def _when(carrier: dict[str, Any]) -> str:
    at = carrier["at"]
    if carrier["time_basis"] == "published_day":
        return f"{at[:10]} (day only)"
    shown = f"{at[:10]} {at[11:16]} UTC"
    return shown + (" (first seen)" if carrier["time_basis"] == "first_seen" else "")


def facts_text(slug: str, total: int, shown: Sequence[dict[str, Any]]) -> list[str]:
    """Each fact of ``shown`` (of ``total``): its sentence, the article that carried it first
    and when, then each later carrier with its lag, and its own wording where it differs."""
    if not total:
        return [f"{slug}: no fact is carried by two articles or more"]
    which = f"the first {len(shown)} (--limit 0 for all)" if len(shown) < total else "all"
    lines = [f"{slug}: {total} facts carried by two articles or more, {which}, first report first"]
    for n, fact in enumerate(shown, start=1):
        first = fact["first"]
        lines += [
            "",
            f"{n}. {fact['text']}",
            f"   first  {first['outlet']}  {_when(first)}  {first['url']}",
        ]
        for later in fact["later"]:
            lines.append(
                f"   later  {later['outlet']}  {lag(later['lag_seconds'])}  {later['url']}"
            )
            if "sentence" in later:
                figures = ", other figures" if later["figures_differ"] else ""
                lines.append(
                    f"          reworded ({later['similarity']:.2f}{figures}): {later['sentence']}"
                )
    return lines
