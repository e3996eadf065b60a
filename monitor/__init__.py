"""news-monitor: follow one news story across many outlets.

Pipeline stages, one module each: fetch -> parse -> extract -> match -> (storage) -> digest,
render; pipeline.py wires them, app.py opens the context, cli.py is the command line.
"""

__version__ = "0.1.0"
