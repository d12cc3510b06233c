# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint install setup clean browser

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

setup: install
	$(BIN)/python manage.py migrate --no-input -v 0
	$(BIN)/python manage.py createcachetable
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py simulate_readers
	$(BIN)/python manage.py train --unless-active
	$(BIN)/python manage.py demo_access

run: setup
	@echo "Serving on http://127.0.0.1:8000  (admin: /admin/, API docs: /api/docs/). Ctrl-C stops."
	$(BIN)/honcho start -f Procfile

# Browser tests drive Debian's Chromium (Playwright never downloads a browser).
# Installed when missing and we may (root); otherwise those tests skip with a reason.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium \
		|| echo "chromium not installed: browser tests will be skipped"; }

lint: install
	$(BIN)/ruff check .

test: lint browser
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-wal db.sqlite3-shm media static .demo
