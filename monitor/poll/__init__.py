"""Poll: one round (``round``) and what it is made of.

Worker threads read: a source (``feed``), an article page (``page``, extracted in a child
process: ``extracting``). The round's thread plans
a batch's entries (``plan``), stores new articles and decides their first version (``ingest``),
records re-checks (``recheck``), through the writes shared with the seeds and redecide
(``record``) and the stories' match indexes (``indexes``), and counts it all (``report``). The
scheduling policy (``schedule``) is pure: it takes ``now`` and does no I/O, and is imported by
the others, never the other way round.
"""
