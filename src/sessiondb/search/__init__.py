"""Search: the query language, the plans that run it over the indexes, ranking and snippets.

``query`` parses what a user types; ``plans`` runs it over ``messages_fts`` and the CJK
side index (``cjk_index``); ``ranking`` is BM25. The modules load on the first search.
"""
