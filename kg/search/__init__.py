"""Search: an embedded full-text index (SQLite FTS5) written by ``kg build`` (:mod:`kg.search.index`) and the
ranked, typo-tolerant lookup over it (:mod:`kg.search.query`) behind ``/search`` and ``kg search``."""
