# Every target sets up what it needs: a fresh Debian/Ubuntu machine only needs `make`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

# Debian packages the project and its tests need (none of them is downloaded outside apt).
APT_PACKAGES := python3-venv python3-dev caddy sudo chromium debootstrap systemd-container \
	openssh-client espeak-ng sox lame zstd

.PHONY: up down destroy demo dialog test lint bench clean apt

up: $(STAMP)  ## Build (or update) the appliance on the local systemd host; prints the admin URL
	$(PY) provisioning/up.py $(ARGS)

down: $(STAMP)  ## Stop the local host (kept for the next `make up`)
	$(PY) provisioning/testhost.py down

destroy: $(STAMP)  ## Remove the local host (the cached root file system stays)
	$(PY) provisioning/testhost.py destroy

demo: $(STAMP)  ## Serve the Memory Game in this machine and show signed requests answered
	$(PY) -m skills demo

dialog: $(STAMP)  ## Talk to the Memory Game in a text dialog
	$(PY) -m skills dialog skills/memory_game

test: $(STAMP)  ## Lint, then run the whole test suite (bench excluded)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(PY) -m pytest; rc=$$?; [ $$rc -eq 5 ] && echo "no tests collected" && rc=0; exit $$rc

bench: $(STAMP)  ## Print the benchmark figures
	$(PY) -m pytest -m bench -s tests/bench

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

apt:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		SUDO=$$( [ $$(id -u) -eq 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq $$missing; \
	fi

$(STAMP): pyproject.toml
	@$(MAKE) --no-print-directory apt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .import_linter_cache
