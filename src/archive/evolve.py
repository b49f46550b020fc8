"""Upgrading stored data when the model changes (Substance D's evolve, in small).

Each step is a function taking (root, registry) and bringing the database from one
generation to the next. ``CURRENT`` is the generation this code writes; a new database
starts there, an older one runs the missing steps in order, each step once.
"""
from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def _listing_indexes(root, registry):
    """Generation 1: make sure every field listed in the schemas has its index."""
    from .root import _index_paths
    for kind in ("household", "unit"):
        container = root.container(kind)
        for path in _index_paths(registry, kind):
            container.ensure_index(path)


def _text_queue(root, registry):
    """Generation 2: the queue of file revisions waiting for their text layer."""
    from .textlayer import TextQueue
    if getattr(root, "text_queue", None) is None:
        root.text_queue = TextQueue()


STEPS = [_listing_indexes, _text_queue]   # STEPS[n] takes generation n to n + 1
CURRENT = len(STEPS)


def upgrade(root, registry, steps=None) -> int:
    """Run the steps the root has not had yet; returns how many ran."""
    steps = STEPS if steps is None else steps
    ran = 0
    while root.generation < len(steps):
        step = steps[root.generation]
        log.info("evolve: generation %s -> %s (%s)", root.generation, root.generation + 1,
                 step.__doc__.strip().splitlines()[0] if step.__doc__ else step.__name__)
        step(root, registry)
        root.generation += 1
        ran += 1
    return ran
