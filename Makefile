# civicbot: everyday tasks. Needs only Python 3.11+ and pip; uv is bootstrapped on first use.

export UV_PYTHON_DOWNLOADS := never
PYTHON ?= python3
UV_BIN := $(shell command -v uv 2>/dev/null)
UV := $(if $(UV_BIN),$(UV_BIN),.tools/bin/uv)
LOCALES := knowledge/locales
POT := $(LOCALES)/civicbot.pot
PYBABEL := $(UV) run --frozen pybabel

.PHONY: run console test test-fast lint format i18n bench sync clean

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet uv

sync: $(UV)
	$(UV) sync --frozen --python $(PYTHON)

run: sync ## start the bot (the console when no BOT_TOKEN is set)
	$(UV) run --frozen civicbot run

console: sync ## talk to the bot in the terminal
	$(UV) run --frozen civicbot console

test: sync ## the whole test suite
	$(UV) run --frozen pytest

test-fast: sync ## everything but the end-to-end tests (no bot process is started)
	$(UV) run --frozen pytest -m "not e2e"

lint: sync ## ruff and mypy, as CI runs them
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .
	$(UV) run --frozen mypy --strict .

format: sync
	$(UV) run --frozen ruff check --fix .
	$(UV) run --frozen ruff format .

i18n: sync ## extract messages, update the catalogues, compile them
	$(PYBABEL) extract --mapping babel.cfg --keywords "_ __ N_ ngettext:1,2 lazy_gettext lazy_ngettext:1,2" \
		--no-location --sort-output --omit-header --width 100 --project civicbot \
		--output-file $(POT) bot handlers knowledge storage
	$(PYBABEL) update --input-file $(POT) --output-dir $(LOCALES) --domain civicbot \
		--no-fuzzy-matching --ignore-obsolete --width 100
	$(PYBABEL) compile --directory $(LOCALES) --domain civicbot --statistics

bench: sync ## benchmarks (see bench/): throughput, search, bursts, reminders, broadcasts (PostgreSQL too
	## when POSTGRES_TEST_URL is set, as .ci/services.sh does)
	$(UV) run --frozen python -m bench.bench_dispatch
	$(UV) run --frozen python -m bench.bench_search
	$(UV) run --frozen python -m bench.bench_burst
	$(UV) run --frozen python -m bench.bench_reminders
	$(UV) run --frozen python -m bench.bench_broadcast

clean:
	rm -rf .tools .venv .pytest_cache .mypy_cache .ruff_cache
