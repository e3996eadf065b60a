"""The main text of an article page: trafilatura's paragraphs minus page furniture. Pure.

Each rule was kept because benchmarks/extraction.py said so: F1 up on the 181 pages of
article_extraction_benchmark, and neither snippet figure of trafilatura_eval_subset down
(must-contain found / must-not-contain absent). Figures after each rule, cumulative, from
F1 0.961 (snippets 0.956 / 0.921) with trafilatura's text and the first seven boilerplate lines:

1. The headline repeated as one of the first three paragraphs goes (it is the title, not the
   text): F1 0.965 (0.956 / 0.924).
2. Paragraphs made of link text (the page's own ``<a>`` texts, or 70 % of their characters): a
   run of two or more is a related-stories list and goes; a single one goes when it does not end
   like a sentence ("16-inch MacBook Pro Now Available" goes, "Was sagt Professor Drosten
   dazu?" stays): F1 0.968 (0.956 / 0.939).
3. More whole paragraphs of page furniture (_BOILERPLATE: copyright lines, "You may also like",
   share, print and comment prompts, "Follow us on Twitter", "Have a tip?"): F1 0.9696.
4. Elements hidden with an inline ``display:none`` are pruned before trafilatura reads the page
   (pages carry whole hidden copies of the article for other layouts): F1 0.9715. One page of
   the 181 carries such a copy (its precision went from 0.31 to 1.00).
5. A paragraph that is only a time stamp opened by its word ("Updated 10:32 a.m. ET, March
   24, 2023", "Last updated:", "Publié le 24 mars 2023 à 10 h 32", "Updated 16M ago") goes:
   it is no part of the article, and a stamp that changes with every edit would otherwise
   make a new version of an unchanged text (docs/story-file.md). The page's own notices are
   read apart, from the HTML (monitor.extract.notices). F1 0.9715 -> 0.9716, accuracy
   0.448 -> 0.453 (three stamps gone, none in the truth; a bare date or time is kept: two are
   in the truth).

Rules work on whole paragraphs only: a sentence inside a real paragraph is never cut.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from lxml import etree  # type: ignore[import-untyped]

from monitor.extract.meta import Tree, plain_text, text_of

# Elements with a style attribute first: the translate() on every element of the page cost
# twice as much (0.66 against 0.36 ms a page), for the same elements.
PRUNE_XPATH = ["//*[@style][contains(translate(@style, ' ', ''), 'display:none')]"]

_BOILERPLATE = re.compile(
    r"""^(?:
        advertisement|anzeige|publicidad|publicité|werbung
      | (?:click\ here\ to\ )?(?:get|download)\ the\ .{0,40}\bapp\b.*
      | click\ here\ to\ (?:subscribe|sign\ up)\b.*
      | (?:sign\ up|subscribe)\b.{0,60}\b(?:newsletters?|inbox|email)\b.{0,80}
      | thanks\ for\ signing\ up!?
      | (?:read|see)\ (?:more|also):.{0,100}
      | \d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d)?(?:[+-]\d\d:?\d\d|Z)?
      | (?:copyright|©|\(c\))\b.{0,200}
      | (?:you\ (?:may|might)\ also\ (?:like|enjoy)|related\ (?:articles?|stories|posts|coverage
         |content)|recommended(?:\ for\ you)?|more\ (?:from|on)\ .{0,40}|most\ (?:read|popular
         |viewed)|don'?t\ miss|leggi\ anche|lesen\ sie\ auch|lire\ aussi|ver\ también
         |leia\ também)\W{0,3}
      | (?:like\ this\ (?:story|article)\?\ )?share\ (?:this|it)\b.{0,60}
      | (?:tags?|comments?|\d+\ comments?|leave\ a\ (?:comment|reply)|print(?:\ article|\ this)?
         |order\ reprints|e-?mail|share|tweet|facebook|twitter|pinterest|whatsapp|linkedin
         |reddit)\W{0,3}
      | write\ to\ .{0,60}\ at\ \S+@\S+
      | (?:sorry|oops)\W{0,3}
      | there\ was\ an\ error\ .{0,80} | an\ error\ (?:has\ )?occurred.{0,80}
      | (?:keep\ an\ eye\ on\ your\ inbox|check\ your\ inbox).{0,100}
      | (?:tell\ us\ what\ you\ think|what\ do\ you\ think)\W{0,20}
      | follow\ (?:us|him|her|them|@?\w+)\ on\ (?:twitter|facebook|instagram).{0,80}
      | have\ a\ (?:news\ )?tip\?.{0,200}
      | get\ .{0,60}\b(?:delivered|on\ the\ go|in\ your\ inbox|right\ in\ your\ inbox)\b.{0,120}
    )$""",
    re.IGNORECASE | re.VERBOSE,
)
# A time stamp: an opening word ("Updated", "Publié le") and nothing but date and time words.
_STAMP_OPENING = re.compile(
    r"^(?:(?:last\s+)?(?:updated|modified|published|posted|original)|(?:dernière\s+)?mise\s+à\s+jour"
    r"|mis\s+à\s+jour|publié|modifié|actualisé)(?:\s+(?:on|at|le|à))?\b",
    re.IGNORECASE,
)
_STAMP_WORD = re.compile(
    r"""^(?:
        [\d:./\-h]*\d[\d:./\-h]*(?:am|pm|h|m|st|nd|rd|th|er)?   # 10:32, 2023-03-24, 16M, 1st, 10h32
      | (?:jan|feb|fév|mar|apr|avr|may|mai|jun|juin|jul|juil|aug|août|sep|oct|nov|dec|déc)
        [a-zéû]*\.?
      | (?:mon|tue|wed|thu|fri|sat|sun|lun|mar|mer|jeu|ven|sam|dim)[a-z]*\.?
      | [ap]\.?m\.? | utc[+\-]?\d* | gmt[+\-]?\d*
      | ago | minutes? | mins? | hours? | hrs? | days? | on | at | le | à | h | and
      | last | updated | modified | published | posted | original | mis | mise | jour | publié
      | modifié
    )[,;|/·•—–\-]*$""",
    re.IGNORECASE | re.VERBOSE,
)
# A time zone is written in capitals: ET, EST, CET, HKT.
_ZONE = re.compile(r"^[A-Z]{2,4}[,;|/·•—–\-]*$")
_SENTENCE_END = re.compile(r"[.!?:;\"”»)]\W*$")
# Share of a paragraph's characters inside the page's link texts from which it is a link.
_LINKED = 0.7


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def is_time_stamp(paragraph: str) -> bool:
    """True when ``paragraph`` is only a time stamp, with or without "Updated" before it."""
    # A date or time alone may be the article's ("4:14 p.m." opening a live entry, an
    # exhibition's "29 November 2018 | 20 January 2019": both in the benchmark's truth). The
    # opening is looked at first: nearly every paragraph fails it, and cheaply.
    if _STAMP_OPENING.match(paragraph.lstrip("-–—•· ")) is None:
        return False
    tokens = [t.strip("()[]:") for t in paragraph.split() if t.strip(",;|/·•—–-:()[]")]
    if not tokens or len(tokens) > 16:
        return False
    return all(_STAMP_WORD.match(t) or _ZONE.match(t) for t in tokens)


def anchor_texts(tree: Tree) -> set[str]:
    """The text of every link in the page's <body>, whitespace collapsed and case folded."""
    body = tree.find("body")
    if body is None:
        return set()
    if _SCRIPT_IN_LINK(body):
        return {t for t in (_norm(text_of(a)) for a in body.iter("a")) if t}
    # No link holds a script or style (nearly every page): text_of's own check, once a link,
    # cost as much as the texts.
    return {t for t in (_norm(plain_text(a)) for a in body.iter("a")) if t}


_SCRIPT_IN_LINK = etree.XPath("boolean(.//a//script | .//a//style)")


def _linked(paragraph: str, anchors: set[str], long_anchors: list[str]) -> bool:
    text = _norm(paragraph.lstrip("-•* "))
    if text in anchors:
        return True
    covered = sum(len(a) * text.count(a) for a in long_anchors if a in text)
    return covered >= _LINKED * len(text)


def clean_text(raw: str, tree: Tree, titles: Iterable[str]) -> str:
    """trafilatura's plain text ``raw`` (one paragraph a line) without page furniture, as
    paragraphs separated by a blank line."""
    paragraphs = [
        p.strip()
        for p in raw.split("\n")
        if p.strip() and not _BOILERPLATE.match(p.strip()) and not is_time_stamp(p.strip())
    ]
    headlines = {_norm(t) for t in titles if t}
    paragraphs = [p for i, p in enumerate(paragraphs) if i >= 3 or _norm(p) not in headlines]
    anchors = anchor_texts(tree)
    long_anchors = [a for a in anchors if len(a) > 6 and " " in a]
    linked = [_linked(p, anchors, long_anchors) for p in paragraphs]
    kept: list[str] = []
    i = 0
    while i < len(paragraphs):
        j = i
        while j < len(paragraphs) and linked[j]:
            j += 1
        if j - i == 1:
            lone = paragraphs[i]
            if _SENTENCE_END.search(lone) or len(lone.split()) < 3:
                kept.append(lone)
        if j > i:
            i = j
            continue
        kept.append(paragraphs[i])
        i += 1
    return "\n\n".join(kept)
