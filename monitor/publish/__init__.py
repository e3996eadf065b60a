"""Publish: what changed between versions (``diff``), the renderings of the story file and
digests (``render``, Jinja templates in ``templates/``, with its parts ``mdtext``, ``page``,
``sidebyside``, ``table`` and ``atom``), and composing and delivering digests (``digest``)."""
