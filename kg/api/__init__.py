"""The web service: the SPARQL endpoint, named queries and (added by other parts) pages.

``kg.api.app.create_app(settings)`` assembles the FastAPI app; ``kg.api.sparql.make_router(endpoint)``
gives the SPARQL routes alone, to mount in another app. Importing this package imports no web framework.
"""

__all__: list[str] = []
