# The container stage (issue 13): waits for .ci/services/docker.sh's
# engine and image, then runs the phases in containers the runner's way
# and measures what a container costs (ratios within this run).
unset TOKENMINT_TEST_DOCKER_LATER
ctr_wait
ctr_build_legacy
ctr_t=$(ctr_now)
go test -count=1 -run '^TestContainer' -v ./internal/shipcheck 2>&1 | grep -E '^(=== RUN|--- |ok|FAIL|PASS)|container_test.go'
[ "${PIPESTATUS[0]}" = 0 ]
ctr_log "container tests: $(ctr_since "$ctr_t")"
ctr_t=$(ctr_now)
# Figures only: -check (the budgets) is for a machine of its own (test.yml
# "budgets", by hand); CI here shares 2 cores with whatever else runs.
go run ./internal/bench -runs 20 -container "$TOKENMINT_TEST_DOCKER_IMAGE" -container-runs 11
ctr_log "container bench: $(ctr_since "$ctr_t")"
