#!/usr/bin/env bash
# Quick start: build tokenmint, start the bundled fake token services on
# 127.0.0.1, then mint, list and revoke a Tooken token with the CLI, rotate
# one into a repository secret of the fake GitHub, and run the action's main
# and post phases the way the runner does. Needs only Go.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"
work=$(mktemp -d)
trap 'kill "${fake_pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT

echo "== build"
go build -tags fakes -o "$work/tokenmint" ./cmd/tokenmint   # -tags fakes: with fake-server
tm="$work/tokenmint"

echo "== start the fake services"
"$tm" fake-server --addr 127.0.0.1:0 --url-file "$work/url" >"$work/fake.log" 2>&1 &
fake_pid=$!
for _ in $(seq 100); do [ -s "$work/url" ] && break; sleep 0.1; done
base=$(cat "$work/url")
echo "fake services at $base"

export TOKENMINT_PROVIDER=tooken
export TOKENMINT_API_URL="$base/tooken/v1"
export TOKENMINT_ADMIN_KEY=tok_live_fakeadminkey0000000000000000   # the fake's key, not a secret

echo "== CLI: mint (JSON; the token is shown because this is a fake)"
"$tm" mint --scopes tokens:read,tokens:revoke --ttl 2h --name quickstart --output json | tee "$work/minted.json"
id=$(sed -n 's/^  "id": "\(.*\)",$/\1/p' "$work/minted.json")

echo "== CLI: list"
"$tm" list

echo "== CLI: revoke $id"
"$tm" revoke "$id"

echo "== CLI: rotate (mint a token and write it into octo-org/octo-repo's secret TOOKEN_TOKEN on the fake GitHub)"
GITHUB_TOKEN=ghp_fakegithubtoken000000000000000000000 \
  "$tm" rotate --scopes tokens:read --ttl 9d --name quickstart-rotation \
  --github-api-url "$base/github" --secret-name TOOKEN_TOKEN --secret-repositories octo-org/octo-repo

echo "== action: main and post, as the runner runs them"
for f in output env state summary; do : >"$work/$f"; done
phase() {
  env -i PATH="$PATH" HOME="$work" \
    GITHUB_ACTIONS=true GITHUB_REPOSITORY=octo-org/octo-repo GITHUB_JOB=deploy GITHUB_RUN_ID=1 GITHUB_RUN_ATTEMPT=1 GITHUB_ACTION=mint \
    GITHUB_OUTPUT="$work/output" GITHUB_ENV="$work/env" GITHUB_STATE="$work/state" GITHUB_STEP_SUMMARY="$work/summary" \
    "INPUT_PROVIDER=tooken" "INPUT_ADMIN-KEY=$TOKENMINT_ADMIN_KEY" "INPUT_API-URL=$TOKENMINT_API_URL" \
    "INPUT_SCOPES=tokens:read" "INPUT_TTL=1h" "INPUT_EXPORT-ENV=API_TOKEN" "INPUT_REVOKE=auto" "INPUT_REVOKE-FAILURE=warn" \
    "INPUT_TIMEOUT=30s" "$@"
}
phase "$tm" action main
echo "-- outputs (GITHUB_OUTPUT):"; grep -v '^ghadelimiter_' "$work/output" | sed 's/^/   /'
# The runner hands saved state to the post phase as STATE_<name>.
state_env=()
while IFS= read -r line; do
  case "$line" in
    *"<<"*) key=${line%%<<*}; delim=${line#*<<}; IFS= read -r value; IFS= read -r _end; state_env+=("STATE_$key=$value") ;;
  esac
done <"$work/state"
phase "${state_env[@]}" "$tm" action post
echo "== job summary:"; cat "$work/summary"
echo "== tokens after post (the CLI's and the job's tokens revoked; the rotation's stays live: a secret holds it):"
"$tm" list --all
