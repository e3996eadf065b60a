"""Is an extracted page an article we can use? Pure: the parsed page and its text in, a status
and a short reason out. Checked in this order:

``not_article``  a home page URL; or, with at most NOT_ARTICLE_MAX_WORDS words of text: an
                 error page served with 200 ("Page not found" in <title> or <h1>), a page whose
                 JSON-LD is a listing (CollectionPage, ItemList...) and no article, an
                 ``og:type`` video or profile, a tag / category / author / search URL, a page
                 of FRONT_PAGE_LINKS headline links or more;
``paywalled``    fewer than PAYWALL_MAX_WORDS words and two paywall markers of: JSON-LD
                 ``isAccessibleForFree: false`` (on the article or a ``hasPart``), a paywall
                 box (an element with a paywall class that asks the reader to subscribe), a
                 "subscribe to continue reading" sentence on the page, a text that ends cut
                 off ("...");
``too_short``    no text, or fewer words than the caller's ``min_words`` (poll.min_words);
``ok``           otherwise.

Each marker alone is common on real, whole articles: many publishers declare
``isAccessibleForFree: false`` and serve the whole text, carry empty paywall containers, use
``og:type website`` or list dozens of related links. Measured on the 181 pages of
article_extraction_benchmark and the 143 of trafilatura_eval_subset (all real articles): no
page is ``not_article``; four are ``paywalled``, all four real teasers (listed, with the
reason, in tests/quality/extraction_floors.json).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from monitor.extract.meta import ARTICLE_TYPES, JsonLd, Tree, meta_value, text_of

OK = "ok"
TOO_SHORT = "too_short"
PAYWALLED = "paywalled"
NOT_ARTICLE = "not_article"
STATUSES = (OK, TOO_SHORT, PAYWALLED, NOT_ARTICLE)

# A paywall teaser is a lead paragraph or two; behind a marker, a text this long is the article.
PAYWALL_MAX_WORDS = 200
# A listing, video or error page may carry some text (a teaser, a caption, a menu); more than this
# and it is taken as an article whatever its markup says.
NOT_ARTICLE_MAX_WORDS = 150
# Distinct headline-like links (four words or more) from which a page with a short text is a
# front page. The most on a real article page of the data sets is 106 (a Media Cloud page with
# big "more stories" blocks); a news site's home page has hundreds.
FRONT_PAGE_LINKS = 150

# Error pages by their title; anchored or qualified so that a headline such as "500 evacuated"
# or "Forbidden City reopens" does not match.
_ERROR_TITLE = re.compile(
    r"""(?:
        ^\W*(?:error\W*)?(?:403|404|410|500)\s*(?:$|[-:|–—]|error|forbidden|not\s+found|page)
      | \berror\W+(?:403|404|410|500)\b
      | ^\W*(?:not\s+found|forbidden|access\s+denied)\W*(?:$|[-:|–—]) | ^\W*error\W*$
      | \b(?:page|article|content|file|url|resource)\s+(?:was\s+)?not\s+found
      | \bpage\b.{0,30}\b(?:can['’]?t|cannot|could\s+not)\s+be\s+found
      | \b(?:page|article|content)\s+(?:is\s+)?no\s+longer\s+available
      | \bpage\b.{0,30}\b(?:does\s+not|doesn['’]?t)\s+exist
      | seite\s+nicht\s+gefunden | page\s+introuvable | página\s+no\s+encontrada
      | pagina\s+non\s+trovata | página\s+não\s+encontrada | pagina\s+niet\s+gevonden
    )""",
    re.IGNORECASE | re.VERBOSE,
)
_LISTING_TYPES = frozenset({"CollectionPage", "SearchResultsPage", "ProfilePage", "ItemList"})
# A URL whose last segment sits under one of these is a listing ("/tag/brexit/",
# "/author/jane-doe"); "/category/news/some-slug" is a WordPress article and stays.
_LISTING_PATHS = frozenset(
    {"tag", "tags", "category", "categories", "topic", "topics", "author", "authors", "search"}
)
_PAYWALL_CLASS = re.compile(
    r"pay-?wall|reg-?wall|subscriber-only|subscribers-only|premium-(?:content|wall|barrier)"
    r"|meter-?wall|article-locked|locked-content|piano-(?:offer|paywall)|subscription-wall",
    re.IGNORECASE,
)
# A "subscribe to continue reading" box: calls to read on, not labels ("Subscriber only" on a
# teaser link, "comments are for subscribers only") that free articles carry too.
_PAYWALL_TEXT = re.compile(
    r"""(?:
        subscribe\s+(?:now\s+)?to\s+(?:continue|keep)\s+reading | to\s+continue\s+reading
      | continue\s+reading\s+your\s+article | already\s+a\s+subscriber
      | this\s+(?:article|story|content)\s+is\s+(?:only\s+)?(?:for|available\s+to)\s+subscribers
      | (?:sign|log)\s+in\s+to\s+(?:continue|keep)\s+reading | create\s+a\s+free\s+account\s+to
      | reached\s+(?:your|the)\s+(?:limit|maximum)\s+of\s+free
      | weiterlesen\s+mit | lesen\s+sie\s+weiter | nur\s+für\s+abonnenten
      | réservée?s?\s+aux\s+abonnés | il\s+vous\s+reste\s+\d+\s*%
      | exclusivo\s+para\s+(?:suscriptores|assinantes) | suscríbete\s+para\s+(?:seguir|continuar)
      | assine\s+para\s+continuar | riservato\s+agli\s+abbonati
    )""",
    re.IGNORECASE | re.VERBOSE,
)
# What an element with a paywall class must say to be the paywall box itself: many free pages
# carry empty paywall containers or a "paywall-login" link in their header.
_SUBSCRIBE = re.compile(
    r"subscri|abonn|suscri|assin[ae]|prenumer|weiterlesen|continue\s+reading|keep\s+reading"
    r"|membership",
    re.IGNORECASE,
)
# A teaser cut off mid-thought: "... and may receive further discipline...."
_TRUNCATED = re.compile(r"(?:\.\.\.|…)\W*$")


def classify(
    tree: Tree,
    *,
    text: str,
    words: int,
    meta: dict[str, str],
    ld: JsonLd,
    url: str,
    min_words: int,
) -> tuple[str, str | None]:
    """The page's status and, unless it is ``ok``, the reason in a few words."""
    reason = _not_article(tree, words=words, meta=meta, ld=ld, url=url)
    if reason:
        return NOT_ARTICLE, reason
    if words < PAYWALL_MAX_WORDS:
        signals = paywall_signals(tree, ld, text, wanted=2)
        if len(signals) >= 2:
            return PAYWALLED, f"{', '.join(signals)}; {words} words"
    if words == 0:
        return TOO_SHORT, "no main text"
    if words < min_words:
        return TOO_SHORT, f"{words} words, fewer than {min_words}"
    return OK, None


def _not_article(
    tree: Tree, *, words: int, meta: dict[str, str], ld: JsonLd, url: str
) -> str | None:
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.path in ("", "/") and not parts.query:
        return "home page URL"  # whatever its text: a site's front is never one article
    if words > NOT_ARTICLE_MAX_WORDS:
        return None
    for element in (tree.find(".//title"), tree.find(".//h1")):
        title = " ".join(text_of(element).split()) if element is not None else ""
        if title and _ERROR_TITLE.search(title):
            return f"error page: {title[:60]!r}"
    if ld.types & ARTICLE_TYPES:
        return None  # the page says it is an article; only an error title overrides that
    listed = ld.types & _LISTING_TYPES
    if listed:
        return f"JSON-LD {sorted(listed)[0]}"
    og_type = (meta_value(meta, "og:type") or "").lower()
    if og_type.startswith("video") or og_type == "profile":
        return f"og:type {og_type}"
    if "VideoObject" in ld.types and not og_type.startswith("article"):
        return "video page (JSON-LD VideoObject)"
    listing = _listing_url(url)
    if listing:
        return listing
    links = _headline_links(tree)
    if links >= FRONT_PAGE_LINKS:
        return f"front page: {links} headline links"
    return None


def _listing_url(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return None
    segments = [s for s in parts.path.lower().split("/") if s]
    if (segments and segments[-1] == "search") or (
        len(segments) >= 2 and segments[-2] in _LISTING_PATHS
    ):
        return f"listing URL /{'/'.join(segments[-2:])}/"
    return None


def _headline_links(tree: Tree) -> int:
    body = tree.find("body")
    if body is None:
        return 0
    anchors = {" ".join(text_of(a).split()) for a in body.iter("a")}
    return sum(1 for a in anchors if len(a.split()) >= 4)


def paywall_signals(tree: Tree, ld: JsonLd, text: str, *, wanted: int = 0) -> list[str]:
    """The paywall markers a page shows; one alone is common on free articles (a site-wide
    ``isAccessibleForFree: false``, an empty paywall container), so classify() needs two.

    With ``wanted``, none ([]) as soon as fewer than that many can be found: the paywall box,
    the dearest to look for (a walk over every element with a class or id), is then looked
    for only when it could make the count (on 9 of the 108 short pages of the benchmark).
    """
    free = ["JSON-LD isAccessibleForFree false"] if ld.not_free else []
    cut = ["text cut off"] if _TRUNCATED.search(text) else []
    body = tree.find("body")
    match = _PAYWALL_TEXT.search(" ".join(text_of(body).split())) if body is not None else None
    said = [f"{match.group(0)!r}"] if match else []
    if len(free) + len(said) + len(cut) + 1 < wanted:
        return []
    return [*free, *_paywall_box(tree), *said, *cut]


def _paywall_box(tree: Tree) -> list[str]:
    for element in tree.xpath("//*[@class or @id]"):
        match = _PAYWALL_CLASS.search(f"{element.get('class', '')} {element.get('id', '')}")
        if match and _SUBSCRIBE.search(text_of(element)):
            return [f"paywall box {match.group(0)!r}"]
    return []
