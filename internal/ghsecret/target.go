// Package ghsecret writes a secret value into GitHub secrets: repository,
// environment and organization secrets for Actions, Dependabot and
// Codespaces. It checks every input rule before any request (BuildTargets),
// reads each target's public key once, seals the value with a libsodium
// sealed box, and PUTs it serially with a pause between writes, honouring
// GitHub's primary and secondary rate limits (403 and 429).
package ghsecret

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"unicode"

	"github.com/tokenmint/tokenmint/internal/httpx"
	"github.com/tokenmint/tokenmint/internal/inputerr"
)

// Action input names, used in *inputerr.Error values.
const (
	InputName                 = "secret-name"
	InputType                 = "secret-type"
	InputRepositories         = "secret-repositories"
	InputEnvironment          = "secret-environment"
	InputOrg                  = "secret-org"
	InputVisibility           = "secret-visibility"
	InputSelectedRepositories = "secret-selected-repositories"
)

// MaxValueSize is GitHub's limit on a secret value (48 KB).
const MaxValueSize = 48 * 1024

// Type is the kind of secret.
type Type string

// Secret types.
const (
	Actions    Type = "actions"
	Dependabot Type = "dependabot"
	Codespaces Type = "codespaces"
)

// Scope is where a secret lives.
type Scope string

// Scopes.
const (
	ScopeRepository   Scope = "repository"
	ScopeEnvironment  Scope = "environment"
	ScopeOrganization Scope = "organization"
)

// Visibility of an organization secret.
type Visibility string

// Visibilities.
const (
	VisibilityAll      Visibility = "all"
	VisibilityPrivate  Visibility = "private"
	VisibilitySelected Visibility = "selected"
)

// Repo names a repository.
type Repo struct {
	Owner string
	Name  string
}

func (r Repo) String() string { return r.Owner + "/" + r.Name }

// Target is one secret write.
type Target struct {
	Name  string // secret name, as given (GitHub stores it upper-cased)
	Type  Type
	Scope Scope
	// Repository and environment scopes.
	Repo        Repo
	Environment string
	// Organization scope.
	Org           string
	Visibility    Visibility
	SelectedRepos []Repo // with VisibilitySelected; owners are Org
}

// Label names the target for tables and errors, e.g.
// "actions repo acme/web", "actions env acme/web:prod",
// "dependabot org acme (selected: 2 repos)".
func (t Target) Label() string {
	switch t.Scope {
	case ScopeEnvironment:
		return fmt.Sprintf("%s env %s:%s", t.Type, t.Repo, t.Environment)
	case ScopeOrganization:
		if t.Visibility == VisibilitySelected {
			return fmt.Sprintf("%s org %s (selected: %d repos)", t.Type, t.Org, len(t.SelectedRepos))
		}
		return fmt.Sprintf("%s org %s (%s)", t.Type, t.Org, t.Visibility)
	default:
		return fmt.Sprintf("%s repo %s", t.Type, t.Repo)
	}
}

// base is the API path (relative, escaped) of the target's secrets
// collection: repos/o/r/actions/secrets, repos/o/r/environments/e/secrets,
// orgs/o/dependabot/secrets.
func (t Target) base() string {
	switch t.Scope {
	case ScopeEnvironment:
		return "repos/" + t.Repo.Owner + "/" + t.Repo.Name + "/environments/" + url.PathEscape(t.Environment) + "/secrets"
	case ScopeOrganization:
		return "orgs/" + t.Org + "/" + string(t.Type) + "/secrets"
	default:
		return "repos/" + t.Repo.Owner + "/" + t.Repo.Name + "/" + string(t.Type) + "/secrets"
	}
}

// KeyPath is the API path of the target's public key; targets that share
// it share one key read per run.
func (t Target) KeyPath() string { return t.base() + "/public-key" }

// SecretPath is the API path the value is PUT to.
func (t Target) SecretPath() string { return t.base() + "/" + t.Name }

// TargetOptions mirror the action inputs. Lists are already split (items
// are trimmed and empty items ignored here). Leave a field empty when the
// input was not given.
type TargetOptions struct {
	SecretName string // secret-name (required)
	SecretType string // secret-type: actions (default), dependabot, codespaces
	// Repositories is secret-repositories; empty means CurrentRepository.
	Repositories []string
	// CurrentRepository is GITHUB_REPOSITORY (owner/repo), the default
	// target outside organization mode.
	CurrentRepository string
	Environment       string // secret-environment
	Org               string // secret-org
	// Visibility is secret-visibility: all, private (default), selected.
	// "private" is accepted without secret-org (it is the input's default,
	// which the action passes through); all and selected are not.
	Visibility           string
	SelectedRepositories []string // secret-selected-repositories
	// GitHubAPIURL is github-api-url ("" = api.github.com): GitHub
	// Enterprise Server has no Codespaces secrets.
	GitHubAPIURL string
}

var (
	secretNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	ownerRE      = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9_-]{0,98}[A-Za-z0-9])?$`)
	repoNameRE   = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)
)

// CheckSecretName returns an *inputerr.Error when name breaks GitHub's
// secret name rules.
func CheckSecretName(name string) error {
	switch {
	case name == "":
		return inputerr.New(InputName, "is required in rotation mode")
	case !secretNameRE.MatchString(name):
		if name[0] >= '0' && name[0] <= '9' {
			return inputerr.New(InputName, "must not start with a digit")
		}
		return inputerr.New(InputName, "may contain only letters, digits and underscores")
	case strings.HasPrefix(strings.ToUpper(name), "GITHUB_"):
		return inputerr.New(InputName, "must not start with GITHUB_ (reserved by GitHub)")
	}
	return nil
}

// ParseRepo parses owner/repo. When defaultOwner is not empty a bare repo
// name is accepted and owned by it.
func ParseRepo(s, defaultOwner string) (Repo, bool) {
	s = strings.TrimSpace(s)
	owner, name, found := strings.Cut(s, "/")
	if !found {
		if defaultOwner == "" {
			return Repo{}, false
		}
		owner, name = defaultOwner, s
	}
	if !ownerRE.MatchString(owner) || !repoNameRE.MatchString(name) || name == "." || name == ".." {
		return Repo{}, false
	}
	return Repo{Owner: owner, Name: name}, true
}

func validOwner(s string) bool { return ownerRE.MatchString(s) }

func clean(items []string) []string {
	var out []string
	for _, it := range items {
		if it = strings.TrimSpace(it); it != "" {
			out = append(out, it)
		}
	}
	return out
}

// BuildTargets checks every rule of the secret-* inputs without network
// and returns the targets to write. Errors are *inputerr.Error values,
// all of them joined with errors.Join; no value is echoed.
func BuildTargets(o TargetOptions) ([]Target, error) {
	var errs []error
	bad := func(input, format string, args ...any) { errs = append(errs, inputerr.New(input, format, args...)) }

	name := strings.TrimSpace(o.SecretName)
	if err := CheckSecretName(name); err != nil {
		errs = append(errs, err)
	}

	typ := Type(strings.ToLower(strings.TrimSpace(o.SecretType)))
	switch typ {
	case "":
		typ = Actions
	case Actions, Dependabot:
	case Codespaces:
		if httpx.IsGHES(o.GitHubAPIURL) {
			bad(InputType, "must be actions or dependabot when github-api-url is a GitHub Enterprise Server base: GHES has no Codespaces secrets API")
		}
	default:
		bad(InputType, "must be actions, dependabot or codespaces")
	}

	org := strings.TrimSpace(o.Org)
	env := strings.TrimSpace(o.Environment)
	repos := clean(o.Repositories)
	selected := clean(o.SelectedRepositories)
	vis := Visibility(strings.ToLower(strings.TrimSpace(o.Visibility)))
	switch vis {
	case "", VisibilityAll, VisibilityPrivate, VisibilitySelected:
	default:
		bad(InputVisibility, "must be all, private or selected")
	}

	if env != "" {
		if typ == Dependabot || typ == Codespaces {
			bad(InputEnvironment, "environment secrets exist only for secret-type actions")
		}
		if len(env) > 255 {
			bad(InputEnvironment, "must be at most 255 characters")
		}
		if strings.IndexFunc(env, unicode.IsControl) >= 0 {
			bad(InputEnvironment, "must not contain control characters")
		}
	}

	if org != "" {
		if !validOwner(org) {
			bad(InputOrg, "must be an organization login (letters, digits, single hyphens)")
		}
		if len(repos) > 0 {
			bad(InputOrg, "cannot be combined with secret-repositories (an organization secret is shared through secret-visibility)")
		}
		if env != "" {
			bad(InputOrg, "cannot be combined with secret-environment (environment secrets belong to a repository)")
		}
		if vis == "" {
			vis = VisibilityPrivate
		}
		if vis == VisibilitySelected && len(selected) == 0 {
			bad(InputSelectedRepositories, "is required with secret-visibility: selected")
		}
		if vis != VisibilitySelected && len(selected) > 0 {
			bad(InputSelectedRepositories, "requires secret-visibility: selected")
		}
		var sel []Repo
		seen := map[string]bool{}
		for i, s := range selected {
			r, ok := ParseRepo(s, org)
			switch {
			case !ok:
				bad(InputSelectedRepositories, "item %d must be owner/repo or a repository name in secret-org", i+1)
				continue
			case !strings.EqualFold(r.Owner, org):
				bad(InputSelectedRepositories, "item %d is not a repository of secret-org", i+1)
				continue
			}
			r.Owner = org
			if k := strings.ToLower(r.String()); !seen[k] {
				seen[k] = true
				sel = append(sel, r)
			}
		}
		if len(errs) > 0 {
			return nil, errors.Join(errs...)
		}
		return []Target{{Name: name, Type: typ, Scope: ScopeOrganization, Org: org, Visibility: vis, SelectedRepos: sel}}, nil
	}

	if vis == VisibilityAll || vis == VisibilitySelected {
		bad(InputVisibility, "applies only to organization secrets (set secret-org)")
	}
	if len(selected) > 0 {
		bad(InputSelectedRepositories, "applies only to organization secrets (set secret-org)")
	}
	fromDefault := false
	if len(repos) == 0 {
		if cur := strings.TrimSpace(o.CurrentRepository); cur != "" {
			repos = []string{cur}
			fromDefault = true
		} else {
			bad(InputRepositories, "is required outside a GitHub Actions run (GITHUB_REPOSITORY is not set)")
		}
	}
	var targets []Target
	seen := map[string]bool{}
	for i, s := range repos {
		r, ok := ParseRepo(s, "")
		if !ok {
			if fromDefault {
				bad(InputRepositories, "the default (GITHUB_REPOSITORY) is not an owner/repo name")
			} else {
				bad(InputRepositories, "item %d must be owner/repo (letters, digits, '-', '_', '.')", i+1)
			}
			continue
		}
		k := strings.ToLower(r.String())
		if seen[k] {
			continue
		}
		seen[k] = true
		t := Target{Name: name, Type: typ, Scope: ScopeRepository, Repo: r}
		if env != "" {
			t.Scope, t.Environment = ScopeEnvironment, env
		}
		targets = append(targets, t)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return targets, nil
}
