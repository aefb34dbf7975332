#!/usr/bin/env bash
# Fuzz the REST and OpenAI-compatible API with Schemathesis against a live server.
#
# Seeds the demo into its own PostgreSQL database, starts gunicorn, then runs Schemathesis
# (--checks all, examples + coverage + fuzzing + stateful phases) once per tenant: a provider
# key and an agent key over every operation, an advertiser key over the ads operations
# (/api/v1/ads/). Exits non-zero on any server error or schema violation.
# Text never holds NUL (every text field refuses it with a 400, see docs/api.md), so the
# generator leaves NUL out; tests/config and tests/marketplace prove the refusals.
#
# Needs PostgreSQL and Redis (as .ci/run starts them). Settings, all optional:
#   FUZZ_DATABASE_URL  default postgres://postgres@127.0.0.1:5432/provenant_fuzz (recreated)
#   FUZZ_REDIS_URL     default redis://127.0.0.1:6379/8
#   FUZZ_MAX_EXAMPLES  test cases per operation and phase (default 25)
#   FUZZ_PORT          default 8765
#   FUZZ_SEED          Schemathesis seed, for a reproducible run
#   FUZZ_INCLUDE       only the paths matching this regex (e.g. /api/v1/billing/)
set -euo pipefail
cd "$(dirname "$0")/../.."

BIN=${BIN:-.venv/bin}
[ -x "$BIN/python" ] || BIN=$(dirname "$(command -v python)")
DB_URL=${FUZZ_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/provenant_fuzz}
PORT=${FUZZ_PORT:-8765}
MAX_EXAMPLES=${FUZZ_MAX_EXAMPLES:-25}
REPORT_DIR=${FUZZ_REPORT_DIR:-var/fuzz}
mkdir -p "$REPORT_DIR"

DB_NAME=${DB_URL##*/}
ADMIN_URL=${DB_URL%/*}/postgres
psql "$ADMIN_URL" -qc "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)" >/dev/null
psql "$ADMIN_URL" -qc "CREATE DATABASE $DB_NAME" >/dev/null

export DATABASE_URL=$DB_URL
export REDIS_URL=${FUZZ_REDIS_URL:-redis://127.0.0.1:6379/8}
export CACHE_KEY_PREFIX=provenant-fuzz
export CELERY_BROKER_URL=""           # ingestion runs in the web process
export CELERY_TASK_ALWAYS_EAGER=1
export PROVENANT_DATA_DIR=${FUZZ_DATA_DIR:-$(mktemp -d)}
export API_KEY_RATE_LIMIT_PER_MINUTE=1000000  # the fuzzer is one client sending thousands
export DEBUG=0
export LOG_LEVEL=WARNING

"$BIN/python" manage.py migrate --noinput -v 0
KEYS=$("$BIN/python" manage.py seed_fuzz_tenants)
PROVIDER_KEY=$(sed -n 's/^PROVIDER_KEY=//p' <<<"$KEYS")
AGENT_KEY=$(sed -n 's/^AGENT_KEY=//p' <<<"$KEYS")
ADVERTISER_KEY=$(sed -n 's/^ADVERTISER_KEY=//p' <<<"$KEYS")

# No request-line limit: what is tested is how the application answers any query string (in a
# deployment the web server's own limit, 4,094 bytes by default, answers 414 before it).
"$BIN/gunicorn" config.wsgi:application --bind "127.0.0.1:$PORT" --workers 2 --timeout 60 \
  --limit-request-line 0 \
  --access-logfile /dev/null --error-logfile "$REPORT_DIR/gunicorn.log" &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null || true' EXIT
fetch() { "$BIN/python" -c 'import sys, urllib.request; sys.stdout.buffer.write(urllib.request.urlopen(sys.argv[1], timeout=5).read())' "$1"; }
for _ in $(seq 1 60); do
  fetch "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
  sleep 1
done
fetch "http://127.0.0.1:$PORT/api/schema/?format=json" >"$REPORT_DIR/openapi.json"

status=0
for tenant in provider agent advertiser; do
  include=${FUZZ_INCLUDE:-}
  case $tenant in
    provider) key=$PROVIDER_KEY ;;
    agent) key=$AGENT_KEY ;;
    advertiser) key=$ADVERTISER_KEY; include=${FUZZ_INCLUDE:-^/api/v1/ads/} ;;
  esac
  echo "fuzz: $tenant key, $MAX_EXAMPLES examples per operation"
  "$BIN/schemathesis" --config-file tests/fuzz/schemathesis.toml run "$REPORT_DIR/openapi.json" \
    --url "http://127.0.0.1:$PORT" \
    --header "Authorization: Bearer $key" \
    --checks all \
    --phases examples,coverage,fuzzing,stateful \
    --max-examples "$MAX_EXAMPLES" \
    --workers 1 \
    --request-timeout 30 \
    --generation-database none \
    --generation-allow-x00 false \
    --suppress-health-check all \
    ${FUZZ_SEED:+--seed "$FUZZ_SEED"} \
    ${include:+--include-path-regex "$include"} \
    --report junit --report-dir "$REPORT_DIR/$tenant" \
    --no-color || status=1
done
exit $status
