#!/usr/bin/env bash
# Runs the Postman collection with newman against a tenantgate demo server of its own: a free
# port, a temporary SQLite database, an application and tenant set up through the admin API.
#
#   cd postman && npm install && ./run.sh        # PYTHON: a Python with tenantgate installed
set -euo pipefail
cd "$(dirname "$0")"

if [ -z "${PYTHON:-}" ]; then
  if [ -x ../.venv/bin/python ]; then PYTHON=../.venv/bin/python; else PYTHON=python3; fi
fi
NEWMAN=node_modules/.bin/newman
[ -x "$NEWMAN" ] || { echo "run.sh: newman is missing; run 'npm install' in postman/" >&2; exit 2; }

workdir=$(mktemp -d)
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$workdir"
}
trap cleanup EXIT

port=$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base_url="http://127.0.0.1:$port"
export TENANTGATE_ADMIN_TOKEN="tga_postman-$("$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(24))')"

TENANTGATE_DEMO=true \
TENANTGATE_PUBLIC_URL="$base_url" \
TENANTGATE_DATABASE_URL="sqlite+aiosqlite:///$workdir/tg.db" \
TENANTGATE_DATA_DIR="$workdir" \
TENANTGATE_SECRET_KEY="$("$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(32))')" \
  "$PYTHON" -m uvicorn --factory tenantgate.app:create_app --host 127.0.0.1 --port "$port" \
  --no-access-log >"$workdir/server.log" 2>&1 &
server_pid=$!

for _ in $(seq 600); do
  if "$PYTHON" -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)" \
      "$base_url/healthz" 2>/dev/null; then
    break
  fi
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "run.sh: tenantgate stopped at start:" >&2; cat "$workdir/server.log" >&2; exit 1
  fi
  sleep 0.1
done

"$PYTHON" make_environment.py "$base_url" "$workdir/environment.json"
"$NEWMAN" run tenantgate.postman_collection.json -e "$workdir/environment.json" --bail
