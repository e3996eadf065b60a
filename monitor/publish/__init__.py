"""Publish: what changed between versions (``diff``), the renderings of the story file and
digests (``render``, Jinja templates in ``templates/``), and composing and delivering digests
(``digest``)."""
