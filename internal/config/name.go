package config

import (
	"strings"

	"github.com/tokenmint/tokenmint/internal/lazyre"
	"github.com/tokenmint/tokenmint/internal/provider"
)

var nameUnsafe = lazyre.New(`[^A-Za-z0-9._-]+`)

// DefaultName derives the token name for a step run:
// tokenmint-<owner>-<repo>-<run_id>-<run_attempt>-<GITHUB_ACTION>, shortened
// with a hash to max. It is deterministic, so the post phase (and a rerun's
// cleanup) can find the token by name. Outside Actions (no run ID) it is
// tokenmint-cli-<UTC timestamp>.
func DefaultName(env Env, max int) string {
	if env.RunID == "" {
		return provider.FitName("tokenmint-cli-"+env.Now().UTC().Format("20060102T150405Z"), max)
	}
	owner, repo, _ := strings.Cut(env.Repository, "/")
	parts := []string{"tokenmint", owner, repo, env.RunID, orDefault(env.RunAttempt, "1"), env.Action}
	var kept []string
	for _, p := range parts {
		if p = strings.Trim(nameUnsafe.ReplaceAllString(p, "_"), "_"); p != "" {
			kept = append(kept, p)
		}
	}
	return provider.FitName(strings.Join(kept, "-"), max)
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
