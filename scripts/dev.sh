#!/usr/bin/env bash
# Set everything up on a fresh Debian 12 machine, then run the demo or the tests.
#   scripts/dev.sh demo [--host H] [--port P]   set up, seed the demo data, serve the app
#   scripts/dev.sh test [PYTEST ARGS...]        set up, run the whole test suite
#   scripts/dev.sh setup                        only set up
# Set DATABASE_URL to run against PostgreSQL instead of the embedded SQLite.
set -euo pipefail
cd "$(dirname "$0")/.."

mode="${1:-setup}"
shift || true
PYTHON="${PYTHON:-python3}"

# --- system packages (Debian) -------------------------------------------------------------
packages=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0)
"$PYTHON" -c 'import ensurepip, venv' 2>/dev/null || packages+=(python3-venv)
if [ "$mode" = "test" ]; then
  packages+=(chromium)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "==> installing Debian packages: ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# --- virtualenv and Python dependencies ---------------------------------------------------
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
  echo "==> installing Python dependencies"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[test]'
  rm -f .venv/.installed-*
  touch "$stamp"
fi

# --- Redis: the queue of background tasks (evidence bundles) -------------------------------
# Uses REDIS_URL when set; otherwise the local server, installed and started if needed.
if [ -z "${REDIS_URL:-}" ] && [ "$mode" != "setup" ]; then
  if ! (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then
    if ! command -v redis-server >/dev/null; then
      echo "==> installing Debian package: redis-server"
      sudo_cmd=()
      [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
      "${sudo_cmd[@]}" apt-get update -qq
      DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends redis-server
    fi
    echo "==> starting redis-server on 127.0.0.1:6379"
    redis-server --bind 127.0.0.1 --port 6379 --daemonize yes --save "" --appendonly no >/dev/null
    for _ in $(seq 1 50); do
      (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null && break
      sleep 0.1
    done
  fi
fi

# --- translations ------------------------------------------------------------------------
.venv/bin/pybabel -q compile -d workshop/translations

case "$mode" in
  setup) echo "==> set up; run .venv/bin/workshop --help" ;;
  demo) exec .venv/bin/workshop demo "$@" ;;
  test) exec .venv/bin/python -m pytest -n 2 "$@" ;;
  *) echo "usage: scripts/dev.sh demo|test|setup" >&2; exit 2 ;;
esac
