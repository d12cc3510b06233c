# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# The port served, printed and written into the default Site and absolute URLs.
PORT ?= 8000
export PORT

.PHONY: run test lint install setup clean browser docs media-tools

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
	$(BIN)/python manage.py aggregate_performance
	$(BIN)/python manage.py demo_access

run: setup media-tools
	@echo "Serving on http://127.0.0.1:$(PORT) with gunicorn  (admin: /admin/, API docs: /api/docs/). Ctrl-C stops."
	$(BIN)/honcho start -f Procfile

# Browser tests drive Debian's Chromium (Playwright never downloads a browser).
# Installed when missing and we may (root); otherwise those tests skip with a reason.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium \
		|| echo "chromium not installed: browser tests will be skipped"; }

# Narration and clips run Debian's espeak-ng and ffmpeg (ffprobe, libass, fonts).
# Installed when missing and we may (root); otherwise a clear error, and the media
# tests skip with the same reason.
MEDIA_PACKAGES := espeak-ng ffmpeg fonts-dejavu-core
media-tools:
	@missing=""; for tool in espeak-ng ffmpeg ffprobe; do \
		command -v $$tool >/dev/null 2>&1 || missing="$$missing $$tool"; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
				apt-get install -y -qq $(MEDIA_PACKAGES); \
		else \
			echo "error: not installed:$$missing. Narration and clips need them:" \
				"run make as root, or apt-get install $(MEDIA_PACKAGES)." \
				"Until then media jobs fail and media tests are skipped." >&2; \
		fi; \
	fi

lint: install
	$(BIN)/ruff check .

# The suite in parallel (pytest-xdist): each worker has its own test database,
# feeds cache, Redis database and django-q2 cluster name (cms/settings/test.py).
TEST_WORKERS ?= 2

test: lint browser media-tools
	$(BIN)/python -m pytest -n $(TEST_WORKERS)

# The documentation site (MkDocs Material) into site/; broken links fail the build.
docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-wal db.sqlite3-shm media static .demo site
