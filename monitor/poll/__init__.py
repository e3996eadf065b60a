"""Poll: one round (``round``), storing and deciding what it read (``ingest``), and the
scheduling policy (``schedule``, pure: it takes ``now`` and does no I/O).

The round and ingest are edges (network and database); ``schedule`` is imported by them, never
the other way round.
"""
