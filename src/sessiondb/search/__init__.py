"""Search: the query language, the plans that run it over the indexes, ranking and snippets.

``query`` parses what a user types; ``plans`` runs it over ``messages_fts`` and the CJK
side index (:mod:`sessiondb.store.cjk_index`, kept by the store's write path);
``ranking`` is BM25; ``engine`` is the search part of ``SessionDB``. The query language
and the plans load on the first search.
"""
