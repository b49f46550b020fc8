# 公租房档案管理系统 — the two set-up commands (see README.md):
#   make run    install everything, load the demo city on first start, serve on :6543
#   make test   install what the tests need (Chromium, CJK fonts), run every test
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CONFIG ?= development.ini

.PHONY: run install test install-test system-test-deps bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install -q -e .

run: install
	mkdir -p var
	$(BIN)/archive -c $(CONFIG) demo --if-empty
	@echo ""
	@echo "公租房档案管理系统: http://127.0.0.1:6543/"
	@echo "Demo logins (password demo-<login>): admin archivist reviewer inspector auditor"
	@echo ""
	$(BIN)/pserve $(CONFIG)

# Debian's Chromium and Noto CJK fonts for the browser tests (Playwright drives /usr/bin/chromium).
system-test-deps:
	@if ! command -v chromium >/dev/null || ! fc-list 2>/dev/null | grep -qi "noto sans cjk"; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium fonts-noto-cjk; \
	  else \
	    sudo apt-get update -q && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium fonts-noto-cjk; \
	  fi; \
	fi

install-test: $(BIN)/python system-test-deps
	$(BIN)/pip install -q -e ".[test]"

test: install-test
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python bench/run.py
