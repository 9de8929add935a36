"""Findings: the one :class:`~kg.findings.model.Finding` type that validation, ``kg validate`` and ``kg check``
produce, errors located at a file, line and column, and the renderers for people and machines."""
