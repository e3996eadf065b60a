"""Fetch: the one HTTP client (``client``), the guarded connection layer (``transport``), what a
fetch gives back (``result``), robots.txt (``robots_rules``, pure: the rules and RFC 9309's
reading of a fetch; ``robots``: the per-origin cache) and network work grouped by host (``pool``).

This is an edge: it touches the network. The pure stages never import it; ``result`` and
``robots_rules`` import no HTTP client.
"""
