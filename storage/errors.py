"""The storage layer's errors. This module imports nothing, so that the command line can catch
them without loading SQLAlchemy; ``monitor`` translates them at its edges (``monitor.app``, the
command line, the daemon's tick).

::

    DatabaseError         the database cannot be opened, reached, migrated or written: a full
    │                     disk, a corrupt file, a server gone (a runtime fault: exit code 1)
    └── DatabaseURLError  the URL itself is wrong: not a URL, no driver for it, a database that
                          refuses the credentials or does not exist, or (for a command that
                          only reads) an SQLite file that is not there (the user's: exit code 2)
QueryError (a ValueError) a search query that cannot be read: too long, or no word to look for
                          (storage.searchquery; the user's: exit code 2)

Their messages are one line and name the database (its SQLite path, or its URL with the
password hidden).
"""

from __future__ import annotations


class DatabaseError(Exception):
    """The database cannot be opened, reached, migrated or written (translated by the caller)."""


class DatabaseURLError(DatabaseError):
    """The database URL names nothing that can be opened: a mistake in the configuration."""


class QueryError(ValueError):
    """A search query that cannot be read (storage.searchquery); its message is one line."""
