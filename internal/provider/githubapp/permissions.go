package githubapp

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/tokenmint/tokenmint/internal/inputerr"
	"github.com/tokenmint/tokenmint/internal/lazyre"
)

// Permission is one GitHub App permission an installation token can be
// narrowed to, with the levels GitHub accepts for it.
type Permission struct {
	Name        string   // API name: pull_requests
	Levels      []string // read, write, admin: what GitHub accepts
	Description string
}

// InputName is the create-github-app-token input for p: permission-pull-requests.
func (p Permission) InputName() string { return "permission-" + strings.ReplaceAll(p.Name, "_", "-") }

// permissionTable is the one list every other view derives from. It is
// GitHub's "App Permissions" schema as create-github-app-token generates its
// permission-* inputs from it (scripts/generated/app-permissions.json).
var permissionTable = []Permission{
	{"actions", lvRW, "for GitHub Actions workflows, workflow runs, and artifacts"},
	{"administration", lvRW, "for repository creation, deletion, settings, teams, and collaborators creation"},
	{"checks", lvRW, "for checks on code"},
	{"codespaces", lvRW, "to create, edit, delete, and list Codespaces"},
	{"contents", lvRW, "for repository contents, commits, branches, downloads, releases, and merges"},
	{"dependabot_secrets", lvRW, "to manage Dependabot secrets"},
	{"deployments", lvRW, "for deployments and deployment statuses"},
	{"email_addresses", lvRW, "to manage the email addresses belonging to a user"},
	{"environments", lvRW, "for managing repository environments"},
	{"followers", lvRW, "to manage the followers belonging to a user"},
	{"git_ssh_keys", lvRW, "to manage git SSH keys"},
	{"gpg_keys", lvRW, "to view and manage GPG keys belonging to a user"},
	{"interaction_limits", lvRW, "to view and manage interaction limits on a repository"},
	{"issues", lvRW, "for issues and related comments, assignees, labels, and milestones"},
	{"members", lvRW, "for organization teams and members"},
	{"metadata", lvRW, "to search repositories, list collaborators, and access repository metadata"},
	{"organization_administration", lvRW, "to manage access to an organization"},
	{"organization_announcement_banners", lvRW, "to view and manage announcement banners for an organization"},
	{"organization_copilot_seat_management", lvW, "for managing access to GitHub Copilot for members of an organization with a Copilot Business subscription"},
	{"organization_custom_org_roles", lvRW, "for custom organization roles management"},
	{"organization_custom_properties", lvRWA, "for custom property management"},
	{"organization_custom_roles", lvRW, "for custom repository roles management"},
	{"organization_events", lvR, "to view events triggered by an activity in an organization"},
	{"organization_hooks", lvRW, "to manage the post-receive hooks for an organization"},
	{"organization_packages", lvRW, "for organization packages published to GitHub Packages"},
	{"organization_personal_access_token_requests", lvRW, "for viewing and managing fine-grained personal access tokens that have been approved by an organization"},
	{"organization_personal_access_tokens", lvRW, "for viewing and managing fine-grained personal access token requests to an organization"},
	{"organization_plan", lvR, "for viewing an organization's plan"},
	{"organization_projects", lvRWA, "to manage organization projects and projects public preview (where available)"},
	{"organization_secrets", lvRW, "to manage organization secrets"},
	{"organization_self_hosted_runners", lvRW, "to view and manage GitHub Actions self-hosted runners available to an organization"},
	{"organization_user_blocking", lvRW, "to view and manage users blocked by the organization"},
	{"packages", lvRW, "for packages published to GitHub Packages"},
	{"pages", lvRW, "to retrieve Pages statuses, configuration, and builds, as well as create new builds"},
	{"profile", lvW, "to manage the profile settings belonging to a user"},
	{"pull_requests", lvRW, "for pull requests and related comments, assignees, labels, milestones, and merges"},
	{"repository_custom_properties", lvRW, "to view and edit custom properties for a repository, when allowed by the property"},
	{"repository_hooks", lvRW, "to manage the post-receive hooks for a repository"},
	{"repository_projects", lvRWA, "to manage repository projects, columns, and cards"},
	{"secret_scanning_alerts", lvRW, "to view and manage secret scanning alerts"},
	{"secrets", lvRW, "to manage repository secrets"},
	{"security_events", lvRW, "to view and manage security events like code scanning alerts"},
	{"single_file", lvRW, "to manage just a single file"},
	{"starring", lvRW, "to list and manage repositories a user is starring"},
	{"statuses", lvRW, "for commit statuses"},
	{"team_discussions", lvRW, "to manage team discussions and related comments"},
	{"vulnerability_alerts", lvRW, "to manage Dependabot alerts"},
	{"workflows", lvW, "to update GitHub Actions workflow files"},
}

var (
	lvR   = []string{"read"}
	lvW   = []string{"write"}
	lvRW  = []string{"read", "write"}
	lvRWA = []string{"read", "write", "admin"}
)

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
var safeName = lazyre.New(`^[A-Za-z][A-Za-z0-9_-]{0,63}$`)

// checkPermission validates one name/level pair and returns the API name
// and level. input names the action input for the error.
func checkPermission(input, name, level string) (string, string, error) {
	p, ok := LookupPermission(name)
	if !ok {
		if safeName.MatchString(strings.TrimSpace(name)) {
			return "", "", inputerr.New(input, "%q is not a GitHub App permission; use one of the names in create-github-app-token's permission-* inputs (for example contents, issues, pull_requests)", strings.TrimSpace(name))
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
		out = append(out, ActionInput{
			Name:        p.InputName(),
			Description: fmt.Sprintf("github-app: the level of permission to grant the access token %s. Can be set to %s.", p.Description, orList(p.Levels)),
		})
	}
	return out
}
