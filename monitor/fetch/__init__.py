"""Fetch: the one HTTP client (``client``), the guarded connection layer (``transport``),
robots.txt (``robots``) and network work grouped by host (``pool``).

This is an edge: it touches the network. The pure stages never import it.
"""
