# abmcrm — `make demo` runs the app with demo data; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
DEMO_HOST ?= 127.0.0.1
DEMO_PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: demo test install install-dev lint clean messages compilemessages

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# Reinstall only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(PY)
	$(PIP) install --quiet -e ".[server]"
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(PY)
	$(PIP) install --quiet -e ".[dev]"
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

demo: install
	DJANGO_DEBUG=1 $(PY) manage.py migrate --noinput
	DJANGO_DEBUG=1 $(PY) manage.py load_demo
	DJANGO_DEBUG=1 DEMO_HOST=$(DEMO_HOST) DEMO_PORT=$(DEMO_PORT) ./bin/demo

test: install-dev
	$(PY) -m pytest $(PYTEST_ARGS)

# The catalogues (abmcrm/core/locale/, one for every app): `messages` adds the strings the code
# gained and drops those it lost, `compilemessages` writes the .mo files Django reads (committed,
# so a clone and the wheel carry them). Both need GNU gettext (apt-get install gettext).
LOCALES := -l id -l ko -l zh_Hant

messages: install-dev
	DJANGO_DEBUG=1 $(PY) manage.py makemessages $(LOCALES) --no-location --no-obsolete \
		-i "tests/*" -i "bench/*" -i "docs/*" -i "var/*" -i "build/*" -i "bin/*" -i "*.egg-info/*"

compilemessages: install-dev
	DJANGO_DEBUG=1 $(PY) manage.py compilemessages $(LOCALES) -i .venv -i var -i build

lint: install-dev
	$(VENV)/bin/ruff check .

clean:
	rm -rf var/ .pytest_cache
