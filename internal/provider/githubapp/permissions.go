package githubapp

import (
	"errors"
	"fmt"
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
