"""The one build pipeline: load → reason → validate → derive on an Oxigraph store (:mod:`kg.pipeline.steps`),
and ``kg build`` writing its artefacts (:mod:`kg.pipeline.build`)."""
