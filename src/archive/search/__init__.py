"""Full-text search (全文检索): a whoosh index kept in step with ZODB after each commit.

``analysis`` turns Chinese into words (and bigrams, and names into pinyin), ``fields``
maps dossiers and documents to index entries, ``queue`` and ``index`` keep the index
following committed changes, ``bulk`` writes a whole new index in bounded memory
(``archive reindex``), and ``query`` answers what users type into the search box.
"""
from __future__ import annotations

import os
from urllib.parse import urlparse


def index_directory(settings, project_dir) -> str:
    """Where the index lives: ``archive.index_dir``, else beside a FileStorage, else var/."""
    configured = settings.get("archive.index_dir")
    if configured:
        return configured
    uri = settings.get("zodbconn.uri", "")
    if uri.startswith("file://"):
        return os.path.join(os.path.dirname(urlparse(uri).path), "index")
    return os.path.join(str(project_dir), "var", "index")
