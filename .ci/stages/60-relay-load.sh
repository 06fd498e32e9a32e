# shellcheck shell=bash
# Sourced by .ci/run after the tests: the relay's heavy tests in a short
# mode, without -race (they measure RSS and throughput). The load run uses
# two replicas sharing the redis-server of .ci/services/redis.sh and checks
# that nothing is lost, duplicated or forged; the flood run checks the
# relay process's peak RSS and that signed webhooks stay prompt. Full
# sizes and figures: docs/relay.md, "Measured".
echo "relay: short load run (2 replicas, real Redis) and flood run"
relay_log=$(mktemp)
if ! TOKENMINT_RELAY_LOAD=1 TOKENMINT_RELAY_LOAD_EVENTS=1000 TOKENMINT_RELAY_LOAD_FORGED=300 TOKENMINT_RELAY_LOAD_REPLAYS=200 \
  TOKENMINT_RELAY_FLOOD=1 TOKENMINT_RELAY_FLOOD_CONNS=300 TOKENMINT_RELAY_FLOOD_SECONDS=4 \
  go test -count=1 -run '^(TestLoad|TestFlood)$' -v ./internal/relay/ >"$relay_log" 2>&1; then
  cat "$relay_log"
  rm -f "$relay_log"
  exit 1
fi
grep -E '^(--- |    (load|flood)_test\.go|ok )' "$relay_log" || true
rm -f "$relay_log"
