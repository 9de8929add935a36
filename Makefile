# Remit — every set-up step lives here, so `make serve` and `make test` work on a fresh machine
# with only python3 and make (plus root for Debian's chromium and Jena, installed for the browser and oracle tests).

PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
KG      := $(BIN)/kg
STAMP   := $(VENV)/.installed-stamp
NODE_STAMP := node_modules/.installed-stamp
HOST    ?= 127.0.0.1
PORT    ?= 8000
CHROMIUM ?= /usr/bin/chromium

.PHONY: all install build validate serve test test-fast bench load publish browser jena virtuoso redis node clean distclean

all: build

## install: create .venv and install Remit with its pinned dependencies
install: $(STAMP) $(NODE_STAMP)

$(STAMP): pyproject.toml
	@echo "creating the Python environment in $(VENV)"
	$(PY) -m venv $(VENV)
	@echo "upgrading pip in $(VENV)"
	$(BIN)/pip install -q --disable-pip-version-check --upgrade pip
	@echo "installing Python dependencies into $(VENV) (first run takes a few minutes): Remit and its pinned packages from pyproject.toml, with the test and bench extras"
	$(BIN)/pip install -q --disable-pip-version-check -e '.[test,bench]'
	@echo "Python dependencies installed"
	touch $@

## node: install the npm packages (the YASGUI query UI, the GOV.UK Frontend stylesheet, axe-core), as pinned in package-lock.json
$(NODE_STAMP): package.json package-lock.json
	@echo "installing the npm packages into node_modules, as pinned in package-lock.json: the query UI (YASGUI), the pages' stylesheet (GOV.UK Frontend) and axe-core"
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

node: $(NODE_STAMP)

## browser: Debian's chromium for the headless browser tests (no browser download by any test tool)
browser:
	@if [ ! -x "$(CHROMIUM)" ]; then \
	  echo "installing Debian chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi

## jena: Debian's Apache Jena ARQ and a JRE, the independent engine every .rq is checked on (tests/oracle)
jena:
	@if [ ! -f /usr/share/java/jena-arq.jar ] || ! command -v java >/dev/null; then \
	  echo "installing Debian libapache-jena-java for the Jena oracle tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libapache-jena-java default-jre-headless >/dev/null; \
	fi

## virtuoso: Debian's OpenLink Virtuoso 7 open source server binary (virtuoso-t, isql-vt), the second external
## store of tests/query/test_virtuoso.py; only the -bin package: the tests write their own virtuoso.ini and
## database in a temporary folder, so no system-wide instance, init script or debconf dba password is set up
virtuoso:
	@if ! command -v virtuoso-t >/dev/null || ! command -v isql-vt >/dev/null; then \
	  echo "installing Debian virtuoso-opensource-7-bin for the Virtuoso external-store tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends virtuoso-opensource-7-bin >/dev/null; \
	fi

## redis: Debian's Redis server, the shared counter of the per-client budget in tests/api/test_shared_budget.py
## (each test starts its own on a free loopback port, saving nothing to disk)
redis:
	@if ! command -v redis-server >/dev/null; then \
	  echo "installing Debian redis-server for the shared-budget tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >/dev/null; \
	fi

## build: reason, validate and write the artefacts to build/ (skipped when the sources are unchanged)
build: $(STAMP)
	$(KG) build

## validate: the validation report for people
validate: $(STAMP)
	$(KG) validate

## serve: build if the sources changed, then serve at http://$(HOST):$(PORT)
serve: $(STAMP) $(NODE_STAMP)
	$(KG) build
	$(KG) serve --host $(HOST) --port $(PORT)

## test: the whole suite (unit, shapes, queries, HTTP with a real server, external Oxigraph and Virtuoso, Redis, browser, Jena)
test: $(STAMP) $(NODE_STAMP) browser jena virtuoso redis
	REMIT_CHROMIUM=$(CHROMIUM) $(BIN)/pytest -q -p no:cacheprovider -n auto --dist loadfile

## bench: the side-by-side benchmark at 10k/100k/1M (long; not part of test), then search recall@5 and latency
bench: $(STAMP) redis
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.search

## load: 60 s of 8 normal clients while a hostile client cycles through issue 16's cases (not part of test)
load: $(STAMP)
	$(BIN)/python -m bench.load --json build/load.json

## publish: the static site (pages, dumps, VoID/DCAT, ontology docs) in site/
publish: $(STAMP)
	$(KG) publish site

clean:
	rm -rf build site test-artifacts .pytest_cache

distclean: clean
	rm -rf $(VENV) node_modules
