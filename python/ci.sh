#!/usr/bin/env bash
# The Python package's CI (called from .ci/run; runnable alone from anywhere):
#  1. build the wheel with maturin (from PyPI, in a throw-away venv);
#  2. for each of CPython 3.12 and 3.13: install it into a fresh venv and run
#     CPython 3.11's own test_asyncore/test_asynchat unmodified (also with the
#     epoll mode forced), and the same suite on pyasyncore/pyasynchat: every
#     test that passes there must pass here;
#  3. the package's own tests (epoll mode, fixes, GIL, Ctrl-C, the seed's
#     HTTP client, interop with this project's Rust examples).
# Where neither 3.12 nor 3.13 exists, it says so loudly and runs everything
# on python3 (3.11) with the package ahead of the stdlib on PYTHONPATH.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}

# CPython 3.11's tests (the oracle interpreter of the main CI has them).
testdir=$(python3 -c 'import os, test; print(os.path.dirname(test.__file__))')
for t in test_asyncore.py test_asynchat.py ../smtpd.py; do
  [ -f "$testdir/$t" ] || { echo "py-ci: $testdir/$t missing (python3 must be CPython 3.11 with its test package)" >&2; exit 1; }
done

echo "== py: Rust examples for the interop tests"
cargo build --quiet -p asyncore-loop --example http_client --example echo_server --manifest-path "$root/Cargo.toml"
examples=$CARGO_TARGET_DIR/debug/examples

echo "== py: fmt and clippy of the extension crate"
cargo fmt --manifest-path "$here/Cargo.toml" -- --check
cargo clippy --quiet --manifest-path "$here/Cargo.toml" -- -D warnings

echo "== py: build the wheel (maturin from PyPI)"
python3 -m venv "$work/tools"
"$work/tools/bin/pip" install --quiet --disable-pip-version-check "maturin>=1.5,<2"
"$work/tools/bin/maturin" build --quiet --manifest-path "$here/Cargo.toml" -o "$work/wheels" \
  -i "$work/tools/bin/python"
wheel=$(ls "$work"/wheels/*.whl)
echo "   $(basename "$wheel")"

find_python() { # find_python 3.12 -> an interpreter path, or nothing
  local v=$1 p
  for p in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$v".*/bin/python"$v" "$(command -v "python$v" || true)"; do
    # (a pyenv shim exists but may refuse to run: try it)
    if [ -n "$p" ] && [ -x "$p" ] && "$p" -c 'import venv' >/dev/null 2>&1; then echo "$p"; return; fi
  done
}

suite() { # suite PYTHON OUT.json [--expect-ours]  (extra env from the caller)
  "$1" "$here/tests/cpython_suite.py" "$testdir" "$2" "${@:3}" >"$2.log" 2>&1 || {
    tail -40 "$2.log"; echo "py-ci: CPython's suite failed ($1)" >&2; return 1; }
  grep '^cpython_suite:\|^python' "$2.log" | sed 's/^/   /'
}

own_tests() { # own_tests PYTHON [PYTHONPATH]
  (cd "$here/tests" && PYTHONPATH=${2:-} ASYNCORE_EXAMPLES=$examples \
    ASYNCORE_LEGACY_SMTPD=$testdir/../smtpd.py \
    timeout 300 "$1" -m unittest test_engine 2>&1 | tail -3)
}

ran=0
for v in 3.12 3.13; do
  py=$(find_python "$v")
  if [ -z "$py" ]; then
    echo "py-ci: WARNING: no Python $v on this machine; not tested on $v" >&2
    continue
  fi
  ran=$((ran + 1))
  echo "== py: Python $v ($py)"
  "$py" -m venv "$work/ours$v"
  "$work/ours$v/bin/pip" install --quiet --disable-pip-version-check "$wheel"
  "$py" -m venv "$work/ref$v"
  "$work/ref$v/bin/pip" install --quiet --disable-pip-version-check pyasyncore pyasynchat
  suite "$work/ref$v/bin/python" "$work/ref$v.json"
  suite "$work/ours$v/bin/python" "$work/ours$v.json" --expect-ours
  python3 "$here/tests/compare_suites.py" "$work/ref$v.json" "$work/ours$v.json" | sed 's/^/   /'
  echo "   the same suite with the epoll mode forced (ASYNCORE_LOOP_EPOLL=1):"
  ASYNCORE_LOOP_EPOLL=1 suite "$work/ours$v/bin/python" "$work/ours$v-epoll.json" --expect-ours
  python3 "$here/tests/compare_suites.py" "$work/ref$v.json" "$work/ours$v-epoll.json" | sed 's/^/   /'
  echo "   the package's own tests:"
  own_tests "$work/ours$v/bin/python" | sed 's/^/   /'
done

if [ "$ran" -eq 0 ]; then
  echo "py-ci: ###########################################################" >&2
  echo "py-ci: NEITHER PYTHON 3.12 NOR 3.13 FOUND: running on $(python3 -V)" >&2
  echo "py-ci: with the package ahead of the stdlib on PYTHONPATH" >&2
  echo "py-ci: ###########################################################" >&2
  python3 -m pip install --quiet --disable-pip-version-check --no-deps --target "$work/site" "$wheel"
  PYTHONPATH=$work/site suite python3 "$work/ours311.json" --expect-ours
  PYTHONPATH=$work/site own_tests python3 "$work/site"
fi
echo "py-ci: ok"
