"""The storage layer: SQLAlchemy models, migrations, the work queue and archive queries.

It never imports ``monitor``: it takes and returns plain values and its own model objects.
"""
