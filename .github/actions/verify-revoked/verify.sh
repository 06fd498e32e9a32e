#!/usr/bin/env bash
# After tokenmint's post step: the token the action minted must be listed
# as revoked by the fake, and no token of the fake may still be active.
set -euo pipefail
id_file="$RUNNER_TEMP/minted-token-id"
if [ ! -s "$id_file" ]; then
  echo "::error::no token ID recorded: the main phase or the output check failed earlier"
  exit 1
fi
id="$(cat "$id_file")"
url="$(cat "$RUNNER_TEMP/fake-url")/tooken/v1"
export SSL_CERT_FILE="$GITHUB_WORKSPACE/.tokenmint-fake-ca.pem"
export TOKENMINT_ADMIN_KEY="tok_live_fakeadminkey0000000000000000"
tm="$RUNNER_TEMP/tokenmint"

"$tm" list --provider tooken --api-url "$url" --all
status="$("$tm" list --provider tooken --api-url "$url" --all --output json | jq -r --arg id "$id" '.[] | select(.id == $id) | .status')"
active="$("$tm" list --provider tooken --api-url "$url" --output json | jq 'length')"
echo "token $id: status ${status:-missing}; active tokens: $active"
if [ "$status" != "revoked" ] || [ "$active" != "0" ]; then
  echo "::error::the post step did not revoke the minted token (status ${status:-missing}, $active active)"
  exit 1
fi
echo "### Self-test: token $id revoked by the post step" >> "$GITHUB_STEP_SUMMARY"
