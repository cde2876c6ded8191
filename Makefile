# Mux Minus: `make run` starts everything locally, `make test` runs the whole suite.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
TINY_MODELS := var/tiny-models

.PHONY: run test test-s3 lint format check typecheck audit bench install install-dev vendor tiny-models up down clean

$(VENV)/bin/activate:
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# Reinstall only when the pins change.
$(VENV)/.installed: requirements.txt requirements-local.txt $(VENV)/bin/activate
	$(PIP) install --quiet -r requirements.txt -r requirements-local.txt
	@touch $@

# The official client (clients/python) is installed editable: the tests and the
# `mux` command use its sources as they are, with no reinstall after a change.
$(VENV)/.installed-dev: requirements-dev.txt clients/python/pyproject.toml $(VENV)/.installed
	$(PIP) install --quiet -r requirements-dev.txt
	$(PIP) install --quiet --no-deps -e ./clients/python
	@touch $@

# Front-end libraries, pinned in package-lock.json, copied into static/vendor/
# (gitignored): axe-core for the browser tests' accessibility checks.
node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm is required (apt-get install npm)"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

static/vendor/axe-core/axe.min.js: node_modules/.installed
	mkdir -p static/vendor/axe-core
	cp node_modules/axe-core/axe.min.js node_modules/axe-core/LICENSE static/vendor/axe-core/

vendor: static/vendor/axe-core/axe.min.js

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev vendor

.env:
	$(PY) scripts/write_local_env.py

run: install .env
	@command -v ffprobe >/dev/null || { echo "ffmpeg is required: every upload is decoded with it (apt-get install ffmpeg)"; exit 1; }
	$(PY) scripts/run_local.py

# Small random-weight demucs models, for trying the product without real weights.
tiny-models: install .env
	$(PY) -m devtools.model_repo $(TINY_MODELS)
	@grep -q '^DEMUCS_REPO=' .env || echo "DEMUCS_REPO=$(CURDIR)/$(TINY_MODELS)" >> .env
	@echo "DEMUCS_REPO is set in .env; restart make run to use these models."

# The real demucs weights of DEMUCS_MODELS, verified and resumable (Ctrl-C, then
# again), into DEMUCS_REPO, else var/models (then set as DEMUCS_REPO in .env).
.PHONY: fetch-models
fetch-models: install .env
	$(PY) manage.py fetch_models
	@grep -q '^DEMUCS_REPO=' .env || echo "DEMUCS_REPO=$(CURDIR)/var/models" >> .env

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-logo --no-cache

format: install-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

check: install-dev
	DJANGO_SETTINGS_MODULE=config.test_settings $(PY) manage.py check
	DJANGO_SETTINGS_MODULE=config.test_settings $(PY) manage.py makemigrations --check --dry-run

typecheck: install-dev
	$(VENV)/bin/mypy billing jobs stemworker core closure devtools webhooks mixes

test: install-dev lint check typecheck
	$(VENV)/bin/pytest
	$(PY) scripts/test_embedded.py
	$(MAKE) --no-print-directory test-s3

# The suites that store or read stored files, again with STORAGE_BACKEND=s3:
# one bucket of a local S3-compatible server (moto's) for the run, as a
# deployment beyond one machine keeps its files (tests/conftest.py).
S3_SUITES := tests/accounts tests/api tests/browser tests/client tests/cms \
	tests/faults tests/jobs tests/mixes tests/security tests/webhooks
test-s3: install-dev
	MUXMINUS_TEST_STORAGE=s3 $(VENV)/bin/pytest $(S3_SUITES)

# Known vulnerabilities in the exact pins (PyPI's advisory feed, through pip-audit).
# --strict: a pin that could not be looked up fails the audit instead of passing it.
audit: install-dev
	$(VENV)/bin/pip-audit --strict --no-deps --disable-pip --progress-spinner off \
		-r requirements.txt -r requirements-dev.txt

bench: install-dev
	$(PY) bench/pipeline.py
	$(PY) bench/decoding.py
	$(PY) bench/api.py

up:
	docker compose up -d --build

down:
	docker compose down

clean:
	rm -rf $(VENV) staticfiles node_modules static/vendor
