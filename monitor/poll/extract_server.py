"""Imported by the fork server of the extraction processes (``monitor.poll.extracting``), and
by nothing else: it sets up the server's own process before it forks any child.

The server ignores SIGTERM, as its children do: a terminal or systemd sends it to the whole
process group, and the parent, which decides when to stop, needs the server until its children
have finished the pages in hand (a child's death is told to the parent through the server). It
stops when the parent stops it (``Extractor.close``) or, if the parent died, when its last
child has exited.
"""

from __future__ import annotations

import signal

from monitor.poll.extracting import warm_up

signal.signal(signal.SIGTERM, signal.SIG_IGN)
warm_up()
