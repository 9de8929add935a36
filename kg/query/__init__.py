"""Named queries: the ``queries/*.rq`` registry and its header parser, parameters and their terms, paging,
and the same queries on an external SPARQL store."""
