"""Extract: article HTML -> main text, metadata and status. Pure.

``page`` parses once and decides which layer wins; ``meta`` reads JSON-LD, meta tags, dates,
the canonical URL and the language; ``text`` holds the cleaning rules; ``status`` decides
whether the page is an article we can match (ok, too_short, paywalled, not_article).
"""

from monitor.extract.page import Extracted, count_words, extract

__all__ = ["Extracted", "count_words", "extract"]
