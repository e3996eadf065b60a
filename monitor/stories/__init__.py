"""Stories: their seed files (``seeds``), and deciding stored articles again for a story
(``redecide``: a new threshold; a story added after its articles were stored: backfill)."""
