#!/usr/bin/env bash
# Install everything the tests need, then run ruff, mypy --strict and the whole test suite.
# Usage: bash scripts/test.sh [extra pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1

# Debian packages listed by test areas (tests/deps/apt/*.txt), installed only when missing.
apt_pkgs=$(cat tests/deps/apt/*.txt 2>/dev/null | sed 's/#.*//' | xargs -n1 2>/dev/null | sort -u || true)
missing=()
for p in $apt_pkgs; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== apt-get install ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Python: a project virtualenv with the package (editable) and every test extra.
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
req_args=()
for f in tests/deps/pip/*.txt; do [ -e "$f" ] && req_args+=(-r "$f"); done
echo "== pip install -e .[test,docs] ${req_args[*]}"
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[test,docs]" "${req_args[@]}"
.venv/bin/python -c "import sigv4kit" # fail early if the install did not work
# The install builds the chunk decoder's C accelerator where it can and goes on without it
# where it cannot; here it must have been built (tests/test_streaming_speedups.py checks).
export SIGV4KIT_REQUIRE_SPEEDUPS=1

# npm packages used by interop tests (tests/deps/npm/<area>/package.json).
for d in tests/deps/npm/*/; do
  if [ -f "$d/package.json" ]; then
    echo "== npm install in $d"
    (cd "$d" && npm install --no-audit --no-fund --loglevel=error >/dev/null)
  fi
done

echo "== ruff check, ruff format --check"
.venv/bin/ruff check src tests benchmarks
.venv/bin/ruff format --check src tests benchmarks
echo "== mypy --strict"
.venv/bin/mypy --strict src/sigv4kit
echo "== mkdocs build --strict (the documentation site; any warning fails)"
# tests/test_docs_site.py then opens every built page in Chromium and checks links and anchors.
export SIGV4KIT_DOCS_SITE="$ROOT/site"
NO_MKDOCS_2_WARNING=1 .venv/bin/mkdocs build --strict --site-dir "$SIGV4KIT_DOCS_SITE"
echo "== pytest"
# Two profiles. The default (CI) skips tests marked `slow` (1 GiB transfers, soaks, long
# benchmarks-as-tests) so the run stays well under 20 minutes; the release profile runs them all:
#   SIGV4KIT_TEST_PROFILE=release bash scripts/test.sh
marker=(-m "not slow")
[ "${SIGV4KIT_TEST_PROFILE:-ci}" = "release" ] && marker=()
# pytest exits 5 when it collected no tests: with `set -e` that fails the run, as it must.
.venv/bin/python -m pytest "${marker[@]}" "$@"
