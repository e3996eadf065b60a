"""news-monitor: follow one news story across many outlets.

One package per pipeline stage, in the order data flows: ``fetch`` -> ``parse`` -> ``extract``
-> ``match`` -> (``storage``, beside this package) -> ``publish``; ``poll`` runs a round,
``stories`` and ``sources`` manage what is followed. ``app.py`` is the composition root,
``cli.py`` the command line. See docs/architecture.md.
"""

__version__ = "0.1.0"
