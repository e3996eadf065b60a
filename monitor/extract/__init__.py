"""Extract: article HTML -> main text, metadata and status. Pure.

``page`` parses once and decides which layer wins; ``meta`` reads JSON-LD, meta tags, dates,
the canonical URL and the language; ``text`` holds the cleaning rules; ``status`` decides
whether the page is an article we can match (ok, too_short, paywalled, not_article);
``notices`` finds the page's own correction and update notices; ``sitemeta`` reads
trafilatura's metadata title, site name and author; ``byline`` its visible byline.
"""

from monitor.extract.notices import Notice
from monitor.extract.page import Extracted, count_words, extract

__all__ = ["Extracted", "Notice", "count_words", "extract"]
