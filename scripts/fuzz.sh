#!/usr/bin/env bash
# A long fuzzing session (release checks): hypothesis at the release profile, then
# each atheris (libFuzzer) harness for FUZZ_SECONDS seconds (default 600).
#   bash scripts/fuzz.sh                 # ~35 minutes
#   FUZZ_SECONDS=3600 bash scripts/fuzz.sh chunked   # one harness, one hour
# The corpus is kept in FUZZ_CORPUS (default .fuzz-corpus/) so later runs start
# where this one stopped; crashing inputs go to FUZZ_ARTIFACTS (default .fuzz-artifacts/).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SECONDS_EACH=${FUZZ_SECONDS:-600}
CORPUS=${FUZZ_CORPUS:-$ROOT/.fuzz-corpus}
ARTIFACTS=${FUZZ_ARTIFACTS:-$ROOT/.fuzz-artifacts}
PY=$ROOT/.venv/bin/python

echo "== hypothesis, HARDENING_PROFILE=release"
HARDENING_PROFILE=release "$PY" -m pytest -q -p no:cacheprovider tests/test_hardening_fuzz.py \
  -k "not atheris"

echo "== atheris, ${SECONDS_EACH}s per harness (corpus: $CORPUS)"
cd tests
"$PY" -m fuzz.run --seconds "$SECONDS_EACH" --corpus "$CORPUS" --artifacts "$ARTIFACTS" "$@"
