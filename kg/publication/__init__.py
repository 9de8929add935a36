"""The publication's model and views: IRIs ↔ URLs, labels, the pages' data, RDF documents, dumps, VoID and
DCAT, and the static site. No web framework here: :mod:`kg.api.pages` serves it."""
