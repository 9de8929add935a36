"""Apache Jena ARQ from Debian's ``libapache-jena-java`` (installed by ``make jena``), run as a subprocess.

Debian ships the jars in /usr/share/java without launcher scripts, so the class path is spelt out here:
Jena's own jars and the libraries the package depends on. Debian's build relocates Jena's bundled Xerces
classes to the package ``xerces`` but leaves their message bundles under ``org/apache/jena/ext/xerces``,
so ARQ stops at start-up ("Couldn't load messages: Can't find bundle for base name
xerces.impl.xpath.regex.message"); :func:`classpath` adds a folder holding those bundles at the path the
classes look for (copied out of jena-core.jar, nothing downloaded).

Two ways to run a query:

* :func:`arq_cli` — the Debian CLI, ``java -cp ... arq.sparql --data F --query Q --results=json``
  (one JVM per query, ~2 s each);
* :func:`run_batch` — ``JenaBatch.java`` (next to this file), run by ``java`` as a single source file,
  which loads each dataset once and runs many queries in one JVM, with the same ARQ calls.

By hand: ``python -m tests.oracle.jena DATA.nq QUERY.rq`` prints ARQ's SPARQL JSON results.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path

JAVA_DIR = Path("/usr/share/java")
#: Jena's jars (libapache-jena-java) and those of the packages it depends on that ARQ loads.
JARS = (
    "jena-arq", "jena-base", "jena-cmds", "jena-core", "jena-dboe-base", "jena-dboe-index", "jena-dboe-storage",
    "jena-dboe-trans-data", "jena-dboe-transaction", "jena-iri", "jena-rdfconnection", "jena-tdb", "jena-tdb2",
    "slf4j-api", "slf4j-nop", "commons-lang3", "commons-io", "commons-codec", "commons-compress", "commons-csv",
    "commons-cli", "dexx.collection", "gson", "guava", "thrift", "protobuf", "jsonld-java", "titanium-json-ld",
    "jakarta.json-api", "jackson-core", "jackson-databind", "jackson-annotations", "httpclient", "httpcore",
)
BATCH = Path(__file__).resolve().with_name("JenaBatch.java")
_BUNDLES = "org/apache/jena/ext/xerces/"

__all__ = ["JARS", "available", "classpath", "arq_cli", "run_batch"]


class JenaMissing(RuntimeError):
    """Java or a Jena jar is not installed (``make jena`` installs them)."""


def available() -> None:
    """Raise :class:`JenaMissing` naming what is missing."""
    if shutil.which("java") is None:
        raise JenaMissing("no java on PATH: run `make jena` (installs Debian's libapache-jena-java and a JRE)")
    missing = [j for j in JARS if not (JAVA_DIR / f"{j}.jar").is_file()]
    if missing:
        raise JenaMissing(f"missing in {JAVA_DIR}: {', '.join(m + '.jar' for m in missing)}: run `make jena`")


@functools.lru_cache(maxsize=1)
def classpath() -> str:
    """The class path for ARQ: the jars and a folder with Xerces' message bundles where Debian's
    relocated classes look for them."""
    available()
    bundles = Path(tempfile.mkdtemp(prefix="remit-jena-bundles-"))
    atexit.register(shutil.rmtree, bundles, True)
    with zipfile.ZipFile(JAVA_DIR / "jena-core.jar") as jar:
        for name in jar.namelist():
            if name.startswith(_BUNDLES) and name.endswith(".properties"):
                target = bundles / "xerces" / name[len(_BUNDLES):]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(jar.read(name))
    return ":".join([*(str(JAVA_DIR / f"{j}.jar") for j in JARS), str(bundles)])


def arq_cli(data: Path, query: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """Debian's ``arq.sparql`` on one query; SPARQL JSON results on stdout."""
    return subprocess.run(
        ["java", "-cp", classpath(), "arq.sparql", "--data", str(data), "--query", str(query), "--results=json"],
        capture_output=True, text=True, timeout=timeout)


def run_batch(jobs: Iterable[tuple[Path, Path, Path]], timeout: float = 600) -> dict[str, int]:
    """Run ``(data, query, out)`` jobs in one JVM (see JenaBatch.java), handing each over as ``jobs``
    yields it: each ``out`` gets the answer, or ``out.error`` ARQ's message. Returns the milliseconds per
    ``out``; raises if the JVM itself fails."""
    with tempfile.TemporaryFile("w+", encoding="utf-8") as log, tempfile.TemporaryFile("w+", encoding="utf-8") as err:
        proc = subprocess.Popen(["java", "-cp", classpath(), str(BATCH)], stdin=subprocess.PIPE, stdout=log,
                                stderr=err, text=True, encoding="utf-8")
        try:
            assert proc.stdin is not None
            for data, query, out in jobs:
                proc.stdin.write(f"{data}\t{query}\t{out}\n")
                proc.stdin.flush()
            proc.stdin.close()
            code = proc.wait(timeout=timeout)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        log.seek(0)
        err.seek(0)
        if code != 0:
            raise RuntimeError(f"JenaBatch failed ({code}): {err.read()[-3000:]}")
        return {out: int(ms) for out, ms in (line.rsplit("\t", 1) for line in log.read().splitlines() if "\t" in line)}


if __name__ == "__main__":  # python -m tests.oracle.jena DATA QUERY
    if len(sys.argv) != 3:
        sys.exit("usage: python -m tests.oracle.jena DATA(.nq/.trig/.ttl) QUERY.rq")
    result = arq_cli(Path(sys.argv[1]), Path(sys.argv[2]))
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    sys.exit(result.returncode)
