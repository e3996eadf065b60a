"""Stories: their seed files (``seeds``), the configuration and seeds brought into the database
at start (``sync``, with the derived tables rebuilt when their definition changed: ``rebuild``),
and deciding stored articles again (``redecide``: a new threshold; ``backfill``: a story added
after its articles were stored; both through ``decide``)."""
