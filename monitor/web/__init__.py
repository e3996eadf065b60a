"""``monitor serve``: the JSON API and the web pages, read-only, over the archive.

- ``server``: the command's work: the database, the socket, uvicorn;
- ``app``: the ASGI application: the Guard (token, security headers, a log line per request),
  ``handler`` (a read session, errors as JSON or an error page, ETag and 304);
- ``api``: the JSON routes, ``openapi`` their description at ``/openapi.json``;
- ``pages``: the HTML pages (``templates/``, which import the story page's parts);
- ``views``: what both show, shaped from what ``storage.browse`` reads;
- ``params``: query parameters checked, a 400 naming the one that is wrong;
- ``finding``: the one door to ``storage.search``.
"""
