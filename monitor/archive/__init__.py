"""The web archives and news search services: what they answer, read (``cdx``, ``news``: pure),
and the polite, resumable client a backfill asks them through (``client``)."""
