#!/usr/bin/env bash
# The project's one test command (CI runs it through .ci/run).
#
#   ./scripts/test.sh [CARGO_TEST_ARGS...]
#
# Any arguments go to `cargo test`, e.g. `./scripts/test.sh evaluate` (tests whose
# name contains "evaluate") or `./scripts/test.sh --test it lambda:: -- --nocapture`.
#
# Steps, each under a "==>" banner; the first failure stops the run, non-zero:
#   1. dev tools: .venv from requirements-dev.txt (moto, cfn-lint, SAM CLI,
#      cargo-lambda, zig); reinstalled only when that file changes
#   2. cargo fmt --check
#   3. cfn-lint template.yaml
#   4. sam validate (offline SAM transform) and sam validate --lint
#   5. cargo clippy --all-targets -- -D warnings
#   6. cargo test, against a moto server the tests start from $MOTO_SERVER; the bench
#      smoke; `validate --template template.yaml` (the rules the template deploys);
#      `test examples/rules.test.yaml` (the example rules' unit tests)
#
# The last line is the total over every suite, alone on its line:
# "N passed, M failed" (a step that fails before the tests counts as one failure).
#
# Needs only the Rust toolchain (rustfmt, clippy) and python3 (>= 3.11; another
# interpreter with PYTHON=...). No AWS account: every AWS_* variable of the
# calling shell is dropped and dummy credentials are set, so nothing real leaks in.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step_name=""
step() {
    step_name="$*"
    printf '\n==> %s\n' "$step_name"
}
on_error() {
    local status=$?
    printf '\n==> FAILED (exit %s): %s\n' "$status" "$step_name" >&2
    printf '0 passed, 1 failed\n'
}
trap on_error ERR

# --- the environment: hermetic AWS settings --------------------------------
# Drop the caller's AWS and ALERT settings (profiles, session tokens, endpoint
# overrides, AWS_LAMBDA_RUNTIME_API, ALERT_RULES, ...), then set dummy ones.
while IFS= read -r name; do
    unset "$name"
done < <(compgen -e | grep -E '^(AWS_|ALERT_)' || true)
export AWS_ACCESS_KEY_ID=testing
export AWS_SECRET_ACCESS_KEY=testing
export AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1
export AWS_CONFIG_FILE=/dev/null
export AWS_SHARED_CREDENTIALS_FILE=/dev/null
export AWS_EC2_METADATA_DISABLED=true
export SAM_CLI_TELEMETRY=0

# --- 1. dev tools ------------------------------------------------------------
step "dev tools (.venv from requirements-dev.txt)"
venv=.venv
python=${PYTHON:-python3}
# A venv holds absolute paths (script shebangs): recreate it when it is broken or
# was made in another directory.
if ! "$venv/bin/python" -c '' 2>/dev/null || [[ "$(cat "$venv/.location" 2>/dev/null || true)" != "$PWD" ]]; then
    echo "creating $venv with $("$python" --version 2>&1)"
    rm -rf "$venv"
    "$python" -m venv "$venv"
    echo "$PWD" >"$venv/.location"
fi
stamp="$venv/.requirements-dev.sha256"
wanted=$({ cat requirements-dev.txt; "$venv/bin/python" --version; } | sha256sum | cut -d' ' -f1)
if [[ "$(cat "$stamp" 2>/dev/null || true)" != "$wanted" ]]; then
    echo "installing requirements-dev.txt (takes about a minute the first time)"
    rm -f "$stamp"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
    echo "$wanted" >"$stamp"
else
    echo "up to date"
fi
export MOTO_SERVER="$PWD/$venv/bin/moto_server"

# --- 2. formatting -------------------------------------------------------------
step "cargo fmt --check"
cargo fmt --check

# --- 3, 4. the SAM template ------------------------------------------------------
step "cfn-lint template.yaml"
"$venv/bin/cfn-lint" template.yaml

step "sam validate (SAM transform)"
"$venv/bin/sam" validate --template template.yaml --region us-east-1

step "sam validate --lint"
"$venv/bin/sam" validate --lint --template template.yaml --region us-east-1

# --- 5. lints ------------------------------------------------------------------
step "cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets -- -D warnings

# --- 6. tests --------------------------------------------------------------------
step "cargo test $*"
trap - ERR
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
cargo test --no-fail-fast "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
# The evaluation benchmark once at its smallest size, so that a bench broken by a change
# fails here rather than when someone measures (one suite of one test).
printf '\n==> cargo test --bench run (smoke)\n'
if cargo test --bench run -- --test 2>&1 | tee -a "$log" | tail -3; then
    echo "test result: ok. 1 passed; 0 failed; 0 ignored (the bench smoke)" >>"$log"
else
    echo "test result: FAILED. 0 passed; 1 failed; 0 ignored (the bench smoke)" >>"$log"
    status=1
fi
# The binary `cargo test` built for the integration tests: `cargo run` would build
# another one (without the dev-dependencies' features), minutes of CPU and gigabytes.
binary="${CARGO_TARGET_DIR:-target}/debug/lightsail-alerts"
[[ -x "$binary" ]] || cargo test --quiet --no-run --test it 2>&1 | tail -3
# Runs the built binary with the given arguments as one more suite of one test,
# counted like the bench smoke: its last line when it passes, all it said when not.
binary_suite() {
    printf '\n==> %s\n' "$*"
    if "$binary" "$@" >"$log.suite" 2>&1; then
        tail -1 "$log.suite"
        echo "test result: ok. 1 passed; 0 failed; 0 ignored ($*)" >>"$log"
    else
        cat "$log.suite" >&2
        echo "test result: FAILED. 0 passed; 1 failed; 0 ignored ($*)" >>"$log"
        status=1
    fi
    rm -f "$log.suite"
}
# The rules this project's own template deploys, checked as the function reads them.
binary_suite validate --template template.yaml
# The example rules' unit tests (examples/rules.test.yaml).
binary_suite test examples/rules.test.yaml
set -e
# Every suite (unit, tests/it, doc-tests, the smokes) ends with its own "test result:" line.
read -r passed failed < <(sed -nE 's/^test result: [a-zA-Z]+\. ([0-9]+) passed; ([0-9]+) failed.*/\1 \2/p' "$log" |
    awk '{p += $1; f += $2} END {print p + 0, f + 0}')
if ((status != 0 && failed == 0)); then
    # A build failure or a crashed test binary: no suite counted it.
    printf '\n==> FAILED (exit %s): %s\n' "$status" "$step_name" >&2
    failed=1
fi
printf '\n%s passed, %s failed\n' "$passed" "$failed"
exit "$status"
