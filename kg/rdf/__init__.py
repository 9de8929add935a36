"""RDF plumbing shared by every part: namespaces, term conversion between rdflib and pyoxigraph, canonical
blank-node labels, byte-stable serialisation, the on-disk store and a Graph-like view of a store."""
