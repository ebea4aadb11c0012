# The two commands of the README: `make run` and `make test`. Everything else supports them.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: run run-flower test test-postgres lint format lock audit migrate superuser chromium \
	docs-images clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

# Re-install only when a lock changes: exactly the hashed production tree, then the dev tools.
$(VENV)/.installed: requirements.txt requirements-dev.txt | $(BIN)/activate
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.txt
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.txt
	touch $@

## Regenerate both locks (every transitive package pinned and hashed) from the .in files.
PIP_COMPILE := $(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links
lock: $(VENV)/.installed
	CUSTOM_COMPILE_COMMAND="make lock" $(PIP_COMPILE) --output-file=requirements.txt requirements.in
	CUSTOM_COMPILE_COMMAND="make lock" $(PIP_COMPILE) --output-file=requirements-dev.txt requirements-dev.in

migrate: $(VENV)/.installed
	$(BIN)/python manage.py migrate --no-input

superuser: $(VENV)/.installed  ## creates DJANGO_SUPERUSER_USERNAME when it is set and missing
	$(BIN)/python manage.py ensure_superuser

## Debug is off unless asked for; the local run asks for it (and so gets the development key).
run run-flower: export DJANGO_DEBUG ?= true

## Web app on http://127.0.0.1:8000, a worker and beat, logs together; Ctrl-C stops all three.
run: migrate superuser
	$(BIN)/honcho start web worker beat

## Same, with Flower on http://127.0.0.1:5555 (needs FLOWER_BASIC_AUTH=user:password).
run-flower: migrate superuser
	$(BIN)/honcho start web worker beat flower

## The whole test suite, on whatever DATABASE_URL / CELERY_BROKER_URL say (SQLite + filesystem by default).
test: $(VENV)/.installed chromium
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## The suite against the local Postgres and Redis.
test-postgres: $(VENV)/.installed chromium
	DATABASE_URL=postgres://root@127.0.0.1:5432/test CELERY_BROKER_URL=redis://127.0.0.1:6379/1 \
		TEST_REDIS_URL=redis://127.0.0.1:6379/11 $(BIN)/python -m pytest $(PYTEST_ARGS)

## Debian's Chromium for the browser tests (tests/browser; Playwright's own browser download is
## not used), installed when missing and apt-get can (as root); without it they skip, saying so.
CHROMIUM ?= /usr/bin/chromium
chromium:
	@[ -x $(CHROMIUM) ] || [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null || { \
		echo "installing Chromium (Debian's chromium package) for the browser tests"; \
		apt-get install -y -qq chromium >/dev/null 2>&1 || \
		{ apt-get update -qq && apt-get install -y -qq chromium >/dev/null 2>&1; } || \
		echo "Chromium could not be installed: the browser tests will say so"; }

## Retake the guide's pictures (docs/images/) with the browser tests, on the local Postgres and Redis.
docs-images:
	UPDATE_DOCS_IMAGES=1 $(MAKE) test-postgres PYTEST_ARGS="tests/browser"

## Known vulnerabilities in the pinned requirements (pip-audit). A package pip-audit could not
## look up is a failure: where its vulnerability service (PyPI's JSON API) cannot be reached, the
## audit says so ("audit: NOT DONE") and fails instead of reporting "No known vulnerabilities found".
audit: $(VENV)/.installed
	@out="$$($(BIN)/pip-audit --strict --progress-spinner off -r requirements-dev.txt 2>&1)"; \
	status=$$?; printf '%s\n' "$$out"; \
	if printf '%s' "$$out" | grep -q "could not be audited\|ConnectionError"; then \
		echo "audit: NOT DONE: pip-audit's vulnerability service cannot be reached from this" \
			"machine, so no package was checked" >&2; \
		exit 1; \
	fi; \
	exit $$status

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf var/
