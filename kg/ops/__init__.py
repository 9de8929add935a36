"""Operations beside the graph: ``kg push`` to an external SPARQL store and ``kg synth`` for scale tests."""
