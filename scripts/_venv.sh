# Sourced by scripts/run and scripts/test: make .venv current with pyproject.toml.
# Re-installs only when pyproject.toml changed since the last install.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${SHIPTRACE_VENV:-$ROOT/.venv}"
EXTRA="${1:-}"
PY="${PYTHON:-python3}"
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "shiptrace needs Python 3.11 or newer as '$PY' (set PYTHON=/path/to/python3.11)" >&2
  exit 2
fi
STAMP="$VENV/.installed${EXTRA:+-$EXTRA}"
if [ ! -f "$STAMP" ]; then
  echo "shiptrace: installing into .venv${EXTRA:+ with the $EXTRA tools} (first run only; about a minute)…" >&2
fi
if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
WANT="$(cat "$ROOT/pyproject.toml" | "$VENV/bin/python" -c 'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
  if [ -f "$STAMP" ]; then
    echo "shiptrace: updating .venv (pyproject.toml changed; about a minute)…" >&2
  fi
  "$VENV/bin/python" -m pip install -qq --upgrade pip
  "$VENV/bin/python" -m pip install -qq -e "$ROOT${EXTRA:+[$EXTRA]}"
  echo "$WANT" > "$STAMP"
fi
