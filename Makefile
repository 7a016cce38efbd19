# Candor: `make run` for a local demo, `make test` for the suite. See README.md.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
# `make run` and `make demo` build every link (mail, "View status page", what the demo prints)
# from SITE_URL: the address runserver really listens on, unless SITE_URL is given (a proxy,
# another machine's name). 0.0.0.0 or :: listen everywhere; links then name 127.0.0.1.
LINK_HOST = $(if $(filter 0.0.0.0 :: [::],$(HOST)),127.0.0.1,$(HOST))
SITE_URL ?= http://$(LINK_HOST):$(PORT)

.PHONY: install run test lint format worker beat migrate demo schema schemathesis drills messages clean

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
	SITE_URL="$(SITE_URL)" $(BIN)/python manage.py demo

run: demo
	@echo ""
	@echo "  Candor is starting on $(SITE_URL)/  (Ctrl-C stops it)"
	@echo "  Mail (sign-up links, login codes, invitations, subscriber mail) is printed in this"
	@echo "  terminal, each with its links listed under it."
	@echo ""
	SITE_URL="$(SITE_URL)" $(BIN)/python manage.py runserver $(HOST):$(PORT)

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# mypy checks the packages listed in pyproject.toml's [tool.mypy] files.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

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

# Fault drills (benchmarks/drills/): PostgreSQL and Redis stopped and restarted, a worker
# killed mid fan-out, SMTP and webhook servers that refuse or hang. Private PostgreSQL and
# Redis instances on free ports (never the shared ones); needs redis-server and PostgreSQL 15's
# initdb/pg_ctl. DRILLS="redis postgres" runs only those. About 5 minutes.
drills: install
	$(BIN)/python benchmarks/drills/run.py $(DRILLS)

# The translation catalogs (locale/<lang>/LC_MESSAGES/django.po, compiled to .mo; both are
# committed, so `make test` and `make run` need nothing more). This extracts every marked
# string readers and subscribers see, merges it into each language's catalog (new ones empty,
# for a translator to fill; tests/i18n/test_catalogs.py fails until they are), and compiles.
# The dashboard's strings are marked but stay English: its templates and modules are left out
# here. English is the source: its catalog holds each message as written. Needs GNU gettext
# (Debian: apt-get install gettext).
LANGUAGE_CODES := en de fr es ja
MESSAGE_IGNORES := \
	'templates/*/dashboard' 'templates/incidents/plain' 'templates/organizations' \
	'templates/dashboard' 'templates/integrations' 'templates/account' 'templates/allauth' \
	'templates/privacy' 'templates/core' 'templates/mfa' 'templates/emails' \
	'templates/incidents/email/update_reminder.txt' 'apps/api' 'apps/integrations' \
	'apps/accounts' 'apps/privacy' 'apps/demo' 'apps/incidents/views.py' \
	'apps/incidents/forms.py' 'apps/incidents/plain' 'apps/incidents/scorecard' \
	'apps/incidents/followups.py' 'apps/incidents/reminders.py' 'apps/status/views.py' \
	'apps/status/forms.py' 'apps/notifications/views.py' 'apps/notifications/forms.py' \
	'apps/notifications/csv_import.py' 'apps/forum/views.py' 'apps/forum/api.py' \
	'apps/organizations/views.py' 'apps/organizations/forms.py' 'apps/organizations/onboarding.py' \
	'apps/organizations/emails.py' 'apps/organizations/services.py' \
	'apps/organizations/roles.py' 'apps/organizations/tenancy.py' 'apps/incidents/services' \
	'benchmarks' 'tests' 'var' 'deploy' 'docs' 'static'
messages: install
	$(BIN)/python manage.py makemessages $(foreach code,$(LANGUAGE_CODES),-l $(code)) \
		--no-obsolete --no-wrap --add-location=file $(foreach pattern,$(MESSAGE_IGNORES),--ignore=$(pattern))
	msgen --no-wrap -o locale/en/LC_MESSAGES/django.en locale/en/LC_MESSAGES/django.po
	msgattrib --no-wrap --clear-fuzzy -o locale/en/LC_MESSAGES/django.po \
		locale/en/LC_MESSAGES/django.en
	rm locale/en/LC_MESSAGES/django.en
	$(BIN)/python manage.py compilemessages --ignore=.venv

clean:
	rm -rf $(VENV) var .pytest_cache
