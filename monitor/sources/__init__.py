"""Sources: adding them (``manage``: finding a site's feed, appending ``[[source]]`` tables),
discovering a page's feeds (``discover``), OPML in and out (``opml``)."""
