"""Operating the daemon: what ``monitor run`` tells the machine it runs on.

- ``listener``: a small HTTP server on ``[ops] listen`` with three paths and nothing else:
  ``/healthz`` (the scheduler is alive), ``/readyz`` (the database is reachable and migrated) and
  ``/metrics`` (Prometheus text);
- ``health``: the liveness rule, pure (it takes the time);
- ``metrics``: the counters the daemon keeps and the gauges read from the database at scrape time,
  in a registry of their own;
- ``notify``: systemd's notification protocol (READY, WATCHDOG, STOPPING, STATUS);
- ``service``: the above put together for ``monitor.daemon``.
"""
