package githubapp

import (
	"errors"
	"fmt"
	"strings"

	"github.com/tokenmint/tokenmint/internal/httpx"
	"github.com/tokenmint/tokenmint/internal/inputerr"
)

// suggest returns "; did you mean X?" for the table name nearest to name
// (at most two edits away), with prefix and sep applied, or a pointer to
// the list.
func suggest(name, prefix, sep string) string {
	best, bestD := "", 3
	for _, p := range permissionTable {
		if d := editDistance(name, p.Name); d < bestD {
			best, bestD = p.Name, d
		}
	}
	if best == "" {
		return "; see the permission list in docs/github-app.md (for example contents, issues, pull_requests)"
	}
	return fmt.Sprintf("; did you mean %s%s?", prefix, strings.ReplaceAll(best, "_", sep))
}

// editDistance is the Levenshtein distance of two short ASCII names.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// CheckPermissionInputs checks the names of permission-* inputs that are
// set (raw input names, as INPUT_PERMISSION-… carries them, lower-cased):
// each must be the input of a permission in the table. An unknown one (a
// typo, or an input no create-github-app-token version declares) is an
// *inputerr.Error naming it, so nothing is silently dropped.
func CheckPermissionInputs(names []string) error {
	var errs []error
	for _, in := range names {
		in = strings.ToLower(strings.TrimSpace(in))
		name := strings.TrimPrefix(in, "permission-")
		if p, ok := LookupPermission(name); ok && p.InputName() == in {
			continue
		}
		if !safeName.MatchString(name) {
			errs = append(errs, inputerr.New("permission-*", "an input of that family is not a GitHub App permission; use permission-<name> with a name from GitHub's REST description, for example permission-contents"))
			continue
		}
		errs = append(errs, inputerr.New(in, "is not a GitHub App permission input (GitHub's REST description and create-github-app-token v3.1.1 have no %s)%s", name, suggest(normalizePermission(name), "permission-", "-")))
	}
	return errors.Join(errs...)
}

// IsGHESBase reports whether base is a GitHub Enterprise Server REST base
// by the one GitHub base rule (httpx.GitHubAPIBase).
func IsGHESBase(base string) bool { return httpx.IsGHES(base) }

// ValidatePermissionsFor is ValidatePermissions for a base URL: a name
// only GHES documents needs a GHES base (https://HOST/api/v3).
func ValidatePermissionsFor(base string, m map[string]string) error {
	errs := []error{ValidatePermissions(m)}
	if !IsGHESBase(base) {
		for _, name := range sortedKeys(m) {
			if p, ok := LookupPermission(name); ok && p.GHESOnly() {
				errs = append(errs, inputerr.New("permissions", "permission %s exists only on GitHub Enterprise Server; it needs a GHES api-url such as https://ghes.example.com/api/v3", p.Name))
			}
		}
	}
	return errors.Join(errs...)
}

// UndocumentedPermissions returns the names in m that GitHub's REST
// description no longer documents (create-github-app-token v3.1.1 still
// declares them), sorted.
func UndocumentedPermissions(m map[string]string) []string {
	var out []string
	for _, name := range sortedKeys(m) {
		if p, ok := LookupPermission(name); ok && p.Undocumented {
			out = append(out, p.Name)
		}
	}
	return out
}

// WarnUndocumented reports each permission of m GitHub no longer documents:
// it is sent as asked, and GitHub may refuse it or grant nothing for it.
func WarnUndocumented(warnf func(string, ...any), m map[string]string) {
	if warnf == nil {
		return
	}
	for _, n := range UndocumentedPermissions(m) {
		warnf("permission %s is not in GitHub's REST description (%s); it is sent as asked because create-github-app-token v3.1.1 still accepts it, but GitHub may refuse it or grant nothing for it: remove it or use a documented permission", n, PermissionSource)
	}
}

// PermissionsMarkdown renders the table for docs/github-app.md (a test
// keeps the page equal to it).
func PermissionsMarkdown() string {
	var b strings.Builder
	b.WriteString("| permission | input | levels | where |\n| --- | --- | --- | --- |\n")
	for _, p := range permissionTable {
		where := "github.com and GHES"
		switch {
		case p.Undocumented:
			where = "not in GitHub's description any more (create-github-app-token v3.1.1 input): passed on with a warning"
		case p.GHESOnly():
			where = "GHES only (needs a GHES api-url)"
		case !p.GHES:
			where = "github.com (and GHEC)"
		}
		fmt.Fprintf(&b, "| `%s` | `%s` | %s | %s |\n", p.Name, p.InputName(), strings.Join(p.Levels, ", "), where)
	}
	return b.String()
}
