"""Imported by the fork server of the extraction processes (``monitor.poll.extracting``), and
by nothing else: it sets up the server's own process before it forks any child.

- The extractor is imported and warmed up (``warm_up``): every child starts with what its
  first page would have imported and compiled (dateparser's locales excepted: see
  ``monitor.poll.extracting.WARM_PAGE``).
- Everything the server holds then is frozen out of the garbage collector (``gc.freeze``):
  a child's collections no longer walk the libraries' objects it inherited, nor write to their
  pages (copy on write). Two children spent 0.9 CPU s less over 1,000 pages (28.4 against
  29.3, two runs each of benchmarks/ingest.py's poll; benchmarks/README.md).
- The server ignores SIGTERM, as its children do: a terminal or systemd sends it to the whole
  process group, and the parent, which decides when to stop, needs the server until its
  children have finished the pages in hand (a child's death is told to the parent through the
  server). It stops when the parent stops it (``Extractor.close``) or, if the parent died,
  when its last child has exited.
"""

from __future__ import annotations

import gc
import signal

from monitor.poll.extracting import warm_up

signal.signal(signal.SIGTERM, signal.SIG_IGN)
warm_up()
gc.freeze()
