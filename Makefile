# 公租房档案管理系统 — the two set-up commands (see README.md):
#   make run    install everything, load the demo city on first start, serve on :6543
#   make test   install what the tests need (Chromium, CJK fonts), run every test
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CONFIG ?= development.ini

.PHONY: run install test install-test system-deps system-test-deps bench bench-search bench-audit bench-load run-zeo bench-cluster bench-exchange bench-ocr

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

install: $(BIN)/python system-deps
	$(BIN)/pip install -q -e .

run: install
	mkdir -p var
	$(BIN)/archive -c $(CONFIG) demo --if-empty
	@echo ""
	@echo "公租房档案管理系统: http://127.0.0.1:6543/"
	@echo "Demo logins (password demo-<login>): admin (system administrator) security (security officer) archivist reviewer inspector auditor borrower"
	@echo ""
	$(BIN)/pserve $(CONFIG)

# Debian packages: Tesseract with its Chinese model for OCR of scans and photos, and
# Ghostscript, which OCRmyPDF falls back on for PDF/A when pikepdf cannot confirm its own
# (make run and make test); Chromium and Noto CJK fonts for the browser tests (Playwright
# drives /usr/bin/chromium). Installed only when missing.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
define apt_install
	@if ! { $(1); }; then \
	  $(SUDO) apt-get update -q && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(2); \
	fi
endef

system-deps:
	$(call apt_install,tesseract --list-langs 2>/dev/null | grep -qx chi_sim && command -v gs >/dev/null,tesseract-ocr tesseract-ocr-chi-sim ghostscript)

system-test-deps: system-deps
	$(call apt_install,command -v chromium >/dev/null && fc-list 2>/dev/null | grep -qi "noto sans cjk",chromium fonts-noto-cjk)

install-test: $(BIN)/python system-test-deps
	$(BIN)/pip install -q -e ".[test,postgresql,zeo]"

test: install-test
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python bench/run.py

# Full-text search at 100,000 documents, whoosh against SQLite FTS5 (--docs N for fewer)
bench-search: install
	$(BIN)/python bench/search.py

bench-audit: install
	$(BIN)/python bench/audit.py

# OCR pages/minute, OCRmyPDF against tesseract alone on the same pages, one core and both;
# the text layer worker's documents/s (python bench/ocr.py --pages 4 for a shorter run)
bench-ocr: install
	$(BIN)/python bench/ocr.py

# hand-over packages out and in, and SM3 fixity, against raw copies and hashes (README)
bench-exchange: install
	$(BIN)/python bench/exchange.py

# 20 simulated officers browsing, searching and filing for 5 minutes against pserve on the demo
# city (python bench/load.py --users 4 --seconds 20 for a shorter run; --households N, --keep)
bench-load: install
	$(BIN)/python bench/load.py

# The ZEO server for zeo.ini (README "More than one server"), run with the venv's runzeo:
# it imports archive to merge concurrent additions to the queues' inboxes.
run-zeo: install
	mkdir -p var/zeo
	$(BIN)/pip install -q -e ".[zeo]"
	$(BIN)/runzeo -C zeo.conf

# Filing documents/s with 8 clients: FileStorage, one and two web servers on RelStorage
# (a throw-away PostgreSQL database on 127.0.0.1:5432) against the raw RelStorage blob-commit
# rate (python bench/cluster.py --per-client 10 for a shorter run)
bench-cluster: install
	$(BIN)/pip install -q -e ".[test,postgresql]"
	$(BIN)/python bench/cluster.py
