package ledger

import (
	"strings"
	"time"
)

// JobPrefix is the default readable prefix of a step run's token name:
// tokenmint-<owner>-<repo>-<GITHUB_JOB>-<run_id>-<run_attempt>. Parts are
// sanitized ([A-Za-z0-9._-]); empty parts are left out. Matrix legs and
// two tokenmint steps of one job share it: their names differ by nonce.
func JobPrefix(repository, job, runID, runAttempt string) string {
	owner, repo, _ := strings.Cut(repository, "/")
	if runAttempt == "" {
		runAttempt = "1"
	}
	return joinParts("tokenmint", owner, repo, job, runID, runAttempt)
}

// CLIPrefix is the default prefix outside a step run:
// tokenmint-cli-<UTC timestamp>.
func CLIPrefix(now time.Time) string { return "tokenmint-cli-" + Stamp(now) }

func joinParts(parts ...string) string {
	var kept []string
	for _, p := range parts {
		if p = Sanitize(p); p != "" {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, "-")
}
