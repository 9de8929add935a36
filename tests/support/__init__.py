"""Helpers shared by the tests, written once: real servers (``kg serve``, Oxigraph) started and stopped
(:mod:`support.servers`), the real build (:mod:`support.realbuild`), headless Chromium (:mod:`support.browser`), probes that show nothing happened — a
canary listener, store fingerprints, a process that is gone (:mod:`support.probes`) — and the commands shown
in the docs (:mod:`support.doccommands`). ``tests/`` is on ``sys.path`` (pytest ``pythonpath``), so a test
imports ``from support.servers import ...``."""
