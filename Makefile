# Candor: `make run` for a local demo, `make test` for the suite. See README.md.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint format worker beat migrate demo schema schemathesis clean

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	touch $(STAMP)

install: $(STAMP)

migrate: install
	@mkdir -p var
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py demo

run: demo
	@echo ""
	@echo "  Candor is starting on http://$(HOST):$(PORT)/  (Ctrl-C stops it)"
	@echo "  Mail (sign-up links, login codes, invitations) is printed in this terminal."
	@echo ""
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

worker: install
	$(BIN)/celery -A config worker --loglevel=INFO -Q default,notifications,webhooks

beat: install
	$(BIN)/celery -A config beat --loglevel=INFO

# The OpenAPI schema of the management API, checked like CI does (tests/api/test_schema.py).
schema: install
	@mkdir -p var
	$(BIN)/python manage.py spectacular --fail-on-warn --validate --file var/schema.yml
	@echo "wrote var/schema.yml"

# Schemathesis against the app under gunicorn, like CI (.ci/schemathesis): needs PostgreSQL and
# Redis on 127.0.0.1 (PostgreSQL user postgres, as .ci/run sets them up). SCHEMATHESIS_MAX_EXAMPLES=N
# changes the number of examples per operation.
schemathesis: install
	.ci/schemathesis

clean:
	rm -rf $(VENV) var .pytest_cache
