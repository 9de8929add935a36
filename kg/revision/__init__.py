"""Revising an agreement: drafts in Turtle, JSON-LD or YAML (:mod:`kg.revision.draft`), the check against
the graph (:mod:`kg.revision.check`) and the difference between two versions (:mod:`kg.revision.diff`)."""
