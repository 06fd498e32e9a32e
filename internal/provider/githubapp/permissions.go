package githubapp

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/tokenmint/tokenmint/internal/inputerr"
)

//go:generate go run ../../tools/genpermissions -in testdata/app-permissions.json -out permissions_gen.go

// The permission rule, in one place: a name and level are accepted only
// when GitHub's official REST description (the app-permissions schema, see
// PermissionSource) documents them, or when create-github-app-token v3.1.1
// declares the name as a permission-* input (passed on with a warning);
// a name only GHES documents needs a GHES base URL. Anything else is an
// input error before any request, so a permission asked for is never
// dropped (a request without permissions would get every permission of the
// installation).

// Permission is one GitHub App permission an installation token can be
// narrowed to, with the levels GitHub accepts for it.
type Permission struct {
	Name        string   // API name: pull_requests
	Levels      []string // read, write, admin: what GitHub accepts
	Description string   // GitHub's description, without the final period
	// Cloud: api.github.com's or GHEC's description has it. GHES: a GHES
	// description has it. A name with GHES only is accepted only with a
	// GHES base URL.
	Cloud, GHES bool
	// Undocumented: no description has it; create-github-app-token v3.1.1
	// still declares its input, so it is passed on, with a warning.
	Undocumented bool
}

// InputName is the create-github-app-token input for p: permission-pull-requests.
func (p Permission) InputName() string { return "permission-" + strings.ReplaceAll(p.Name, "_", "-") }

// GHESOnly reports a permission only GHES documents.
func (p Permission) GHESOnly() bool { return p.GHES && !p.Cloud }

// Levels are the permission levels, weakest first.
var Levels = []string{"read", "write", "admin"}

// Permissions is the name of every permission an installation token can be
// narrowed to (create-github-app-token's permission-* inputs), sorted.
var Permissions = func() []string {
	out := make([]string, len(permissionTable))
	for i, p := range permissionTable {
		out[i] = p.Name
	}
	slices.Sort(out)
	return out
}()

// PermissionTable returns a copy of the permission list with levels and
// descriptions.
func PermissionTable() []Permission {
	out := make([]Permission, len(permissionTable))
	for i, p := range permissionTable {
		p.Levels = slices.Clone(p.Levels)
		out[i] = p
	}
	return out
}

// LookupPermission finds a permission by API name (pull_requests) or by
// its dashed form (pull-requests), case-insensitively.
func LookupPermission(name string) (Permission, bool) {
	n := normalizePermission(name)
	for _, p := range permissionTable {
		if p.Name == n {
			return p, true
		}
	}
	return Permission{}, false
}

func normalizePermission(name string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimSpace(name)), "-", "_")
}

// LevelRank orders levels: read 1, write 2, admin 3, anything else 0.
func LevelRank(level string) int {
	return slices.Index(Levels, level) + 1
}

// safeName is what a permission name may look like to be quoted back in an
// error (user text, but never anything that could form a workflow command).
var safeName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,63}$`)

// checkPermission validates one name/level pair and returns the API name
// and level. input names the action input for the error.
func checkPermission(input, name, level string) (string, string, error) {
	p, ok := LookupPermission(name)
	if !ok {
		n := strings.TrimSpace(name)
		if safeName.MatchString(n) {
			return "", "", inputerr.New(input, "%q is not a GitHub App permission in GitHub's REST description%s", n, suggest(normalizePermission(n), "", "_"))
		}
		return "", "", inputerr.New(input, "an entry is not a GitHub App permission name; write entries as name:level, for example contents:read")
	}
	lv := strings.ToLower(strings.TrimSpace(level))
	if !slices.Contains(p.Levels, lv) {
		return "", "", inputerr.New(input, "permission %s must be %s", p.Name, orList(p.Levels))
	}
	return p.Name, lv, nil
}

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
// (https://HOST/api/v3), the one form GHES serves its REST API under.
func IsGHESBase(base string) bool {
	u, err := url.Parse(strings.TrimSpace(base))
	if err != nil {
		return false
	}
	return strings.HasSuffix(strings.TrimRight(u.Path, "/"), "/api/v3")
}

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

func orList(levels []string) string {
	q := make([]string, len(levels))
	for i, l := range levels {
		q[i] = "'" + l + "'"
	}
	switch len(q) {
	case 1:
		return q[0]
	case 2:
		return q[0] + " or " + q[1]
	default:
		return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
	}
}

// ParsePermissions parses the permissions input: name:level entries
// separated by commas and/or newlines (contents:read, issues:write).
// Names may use dashes or underscores; levels are read, write or admin as
// GitHub allows for each permission. The same permission twice with
// different levels is an error. An empty input is a nil map. Errors are
// *inputerr.Error values on "permissions", joined.
func ParsePermissions(s string) (map[string]string, error) {
	var out map[string]string
	var errs []error
	if strings.TrimSpace(s) != "" && len(SplitList(s)) == 0 {
		// Read as "none asked", it would mint every permission.
		return nil, inputerr.New("permissions", "has no name:level entry; give entries like contents:read, or remove the input")
	}
	for _, item := range SplitList(s) {
		name, level, ok := strings.Cut(item, ":")
		if !ok || strings.TrimSpace(level) == "" {
			errs = append(errs, inputerr.New("permissions", "every entry must be name:level (for example contents:read); one has no level"))
			continue
		}
		n, l, err := checkPermission("permissions", name, level)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		if prev, dup := out[n]; dup && prev != l {
			errs = append(errs, inputerr.New("permissions", "permission %s is given twice with different levels", n))
			continue
		}
		out[n] = l
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// ValidatePermissions checks a permissions map (as MintRequest carries it):
// known names, allowed levels. Errors are *inputerr.Error on "permissions".
func ValidatePermissions(m map[string]string) error {
	var errs []error
	for _, name := range sortedKeys(m) {
		n, _, err := checkPermission("permissions", name, m[name])
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if n != name {
			errs = append(errs, inputerr.New("permissions", "permission %s must be spelled with underscores", n))
		}
	}
	return errors.Join(errs...)
}

// FormatPermissions renders a permissions map as "name:level" items, sorted.
func FormatPermissions(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, k := range sortedKeys(m) {
		out = append(out, fmt.Sprintf("%s:%s", k, m[k]))
	}
	return out
}

// SplitList splits an input list on commas and newlines, trimming each item
// and dropping empty ones.
func SplitList(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' }) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// ActionInput is one action.yml input declaration.
type ActionInput struct {
	Name        string
	Description string
	Default     string // empty: no default
}

// ActionInputs returns the create-github-app-token inputs tokenmint accepts
// as aliases, for generating action.yml: app-id, private-key,
// skip-token-revoke, and one permission-<name> per permission in the list.
// None has a default: an alias set by default would always conflict with its
// new name. (github-api-url is also tokenmint's own input; it is not
// repeated here.)
func ActionInputs() []ActionInput {
	out := []ActionInput{
		{Name: "app-id", Description: "create-github-app-token compatibility: alias of client-id (GitHub App ID or client ID)."},
		{Name: "private-key", Description: "create-github-app-token compatibility: alias of admin-key (the GitHub App's private key, PEM)."},
		{Name: "skip-token-revoke", Description: "create-github-app-token compatibility: 'true' means revoke: never."},
	}
	for _, p := range permissionTable {
		note := ""
		switch {
		case p.Undocumented:
			note = " Not in GitHub's REST description any more: passed on with a warning."
		case p.GHESOnly():
			note = " GitHub Enterprise Server only."
		}
		out = append(out, ActionInput{
			Name:        p.InputName(),
			Description: fmt.Sprintf("github-app: %s. Can be set to %s.%s", p.Description, orList(p.Levels), note),
		})
	}
	return out
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
