package ghsecret

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenmint/tokenmint/internal/inputerr"
)

func TestBuildTargets(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		in   TargetOptions
		want []Target
	}{
		{
			name: "default_current_repository",
			in:   TargetOptions{SecretName: "API_TOKEN", CurrentRepository: "acme/web"},
			want: []Target{{Name: "API_TOKEN", Type: Actions, Scope: ScopeRepository, Repo: Repo{"acme", "web"}}},
		},
		{
			name: "repositories_trimmed_and_deduplicated",
			in:   TargetOptions{SecretName: "tok", Repositories: []string{" acme/a ", "", "acme/b", "ACME/A"}, CurrentRepository: "acme/web"},
			want: []Target{
				{Name: "tok", Type: Actions, Scope: ScopeRepository, Repo: Repo{"acme", "a"}},
				{Name: "tok", Type: Actions, Scope: ScopeRepository, Repo: Repo{"acme", "b"}},
			},
		},
		{
			name: "environment_with_space_and_slash",
			in:   TargetOptions{SecretName: "TOK", Repositories: []string{"acme/web"}, Environment: "prod / eu"},
			want: []Target{{Name: "TOK", Type: Actions, Scope: ScopeEnvironment, Repo: Repo{"acme", "web"}, Environment: "prod / eu"}},
		},
		{
			name: "org_default_private",
			in:   TargetOptions{SecretName: "TOK", Org: "acme"},
			want: []Target{{Name: "TOK", Type: Actions, Scope: ScopeOrganization, Org: "acme", Visibility: VisibilityPrivate}},
		},
		{
			name: "org_selected_bare_and_full_names",
			in:   TargetOptions{SecretName: "TOK", SecretType: "Dependabot", Org: "acme", Visibility: "selected", SelectedRepositories: []string{"web", "acme/api", "Acme/web"}},
			want: []Target{{Name: "TOK", Type: Dependabot, Scope: ScopeOrganization, Org: "acme", Visibility: VisibilitySelected, SelectedRepos: []Repo{{"acme", "web"}, {"acme", "api"}}}},
		},
		{
			name: "codespaces_repository",
			in:   TargetOptions{SecretName: "TOK", SecretType: "codespaces", Repositories: []string{"acme/web.site"}},
			want: []Target{{Name: "TOK", Type: Codespaces, Scope: ScopeRepository, Repo: Repo{"acme", "web.site"}}},
		},
		{
			name: "private_default_passed_through_without_org",
			in:   TargetOptions{SecretName: "TOK", Visibility: "private", CurrentRepository: "acme/web"},
			want: []Target{{Name: "TOK", Type: Actions, Scope: ScopeRepository, Repo: Repo{"acme", "web"}}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := BuildTargets(tc.in)
			if err != nil {
				t.Fatalf("BuildTargets: %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("targets (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBuildTargets_Errors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		in   TargetOptions
		want []string // input names of the errors, in order
	}{
		{name: "name_required", in: TargetOptions{CurrentRepository: "a/b"}, want: []string{InputName}},
		{name: "name_leading_digit", in: TargetOptions{SecretName: "1TOK", CurrentRepository: "a/b"}, want: []string{InputName}},
		{name: "name_bad_character", in: TargetOptions{SecretName: "TOK-1", CurrentRepository: "a/b"}, want: []string{InputName}},
		{name: "name_github_prefix_any_case", in: TargetOptions{SecretName: "github_token", CurrentRepository: "a/b"}, want: []string{InputName}},
		{name: "bad_type", in: TargetOptions{SecretName: "T", SecretType: "npm", CurrentRepository: "a/b"}, want: []string{InputType}},
		{name: "bad_visibility", in: TargetOptions{SecretName: "T", Org: "acme", Visibility: "public"}, want: []string{InputVisibility}},
		{name: "selected_without_repos", in: TargetOptions{SecretName: "T", Org: "acme", Visibility: "selected"}, want: []string{InputSelectedRepositories}},
		{name: "repos_without_selected", in: TargetOptions{SecretName: "T", Org: "acme", Visibility: "all", SelectedRepositories: []string{"web"}}, want: []string{InputSelectedRepositories}},
		{name: "repos_with_default_visibility", in: TargetOptions{SecretName: "T", Org: "acme", SelectedRepositories: []string{"web"}}, want: []string{InputSelectedRepositories}},
		{name: "visibility_without_org", in: TargetOptions{SecretName: "T", Visibility: "all", CurrentRepository: "a/b"}, want: []string{InputVisibility}},
		{name: "selected_without_org", in: TargetOptions{SecretName: "T", SelectedRepositories: []string{"a/b"}, CurrentRepository: "a/b"}, want: []string{InputSelectedRepositories}},
		{name: "org_with_repositories", in: TargetOptions{SecretName: "T", Org: "acme", Repositories: []string{"acme/web"}}, want: []string{InputOrg}},
		{name: "org_with_environment", in: TargetOptions{SecretName: "T", Org: "acme", Environment: "prod"}, want: []string{InputOrg}},
		{name: "selected_repo_of_other_owner", in: TargetOptions{SecretName: "T", Org: "acme", Visibility: "selected", SelectedRepositories: []string{"other/web"}}, want: []string{InputSelectedRepositories}},
		{name: "selected_repo_bad_form", in: TargetOptions{SecretName: "T", Org: "acme", Visibility: "selected", SelectedRepositories: []string{"acme/we b"}}, want: []string{InputSelectedRepositories}},
		{name: "bad_org", in: TargetOptions{SecretName: "T", Org: "-acme"}, want: []string{InputOrg}},
		{name: "dependabot_environment", in: TargetOptions{SecretName: "T", SecretType: "dependabot", Environment: "prod", CurrentRepository: "a/b"}, want: []string{InputEnvironment}},
		{name: "codespaces_on_ghes", in: TargetOptions{SecretName: "T", SecretType: "codespaces", CurrentRepository: "a/b", GitHubAPIURL: "https://ghes.example.com/api/v3"}, want: []string{InputType}},
		{name: "codespaces_on_bare_ghes_host", in: TargetOptions{SecretName: "T", SecretType: "codespaces", CurrentRepository: "a/b", GitHubAPIURL: "https://ghes.example.com"}, want: []string{InputType}},
		{name: "codespaces_environment", in: TargetOptions{SecretName: "T", SecretType: "codespaces", Environment: "prod", CurrentRepository: "a/b"}, want: []string{InputEnvironment}},
		{name: "environment_control_character", in: TargetOptions{SecretName: "T", Environment: "prod\n::x::", CurrentRepository: "a/b"}, want: []string{InputEnvironment}},
		{name: "bare_repository_name", in: TargetOptions{SecretName: "T", Repositories: []string{"web"}}, want: []string{InputRepositories}},
		{name: "repository_three_parts", in: TargetOptions{SecretName: "T", Repositories: []string{"a/b/c"}}, want: []string{InputRepositories}},
		{name: "repository_dot_dot", in: TargetOptions{SecretName: "T", Repositories: []string{"a/.."}}, want: []string{InputRepositories}},
		{name: "no_repository_outside_actions", in: TargetOptions{SecretName: "T"}, want: []string{InputRepositories}},
		{name: "bad_default_repository", in: TargetOptions{SecretName: "T", CurrentRepository: "nonsense"}, want: []string{InputRepositories}},
		{
			name: "every_problem_at_once",
			in:   TargetOptions{SecretName: "GITHUB_X", SecretType: "dependabot", Environment: "prod", Visibility: "selected", SelectedRepositories: []string{"x"}, Repositories: []string{"bad"}},
			want: []string{InputName, InputEnvironment, InputVisibility, InputSelectedRepositories, InputRepositories},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := BuildTargets(tc.in)
			if err == nil {
				t.Fatalf("BuildTargets = %v, want an error", got)
			}
			ies, rest := inputerr.List(err)
			if len(rest) > 0 {
				t.Errorf("errors that are not input errors: %v", rest)
			}
			var inputs []string
			for _, ie := range ies {
				inputs = append(inputs, ie.Input)
			}
			if diff := cmp.Diff(tc.want, inputs); diff != "" {
				t.Errorf("inputs (-want +got):\n%s", diff)
			}
			var ie *inputerr.Error
			if !errors.As(err, &ie) {
				t.Errorf("errors.As(*inputerr.Error) = false")
			}
			// Values are never echoed.
			for _, v := range []string{"npm", "public", "other/web", "we b", "a/b/c", "nonsense", "GITHUB_X", "TOK-1"} {
				if strings.Contains(err.Error(), v) {
					t.Errorf("error %q echoes the value %q", err, v)
				}
			}
		})
	}
}

func TestTarget_Paths(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name        string
		target      Target
		key, secret string
		label       string
	}{
		{
			name:   "repository",
			target: Target{Name: "TOK", Type: Codespaces, Scope: ScopeRepository, Repo: Repo{"acme", "web"}},
			key:    "repos/acme/web/codespaces/secrets/public-key", secret: "repos/acme/web/codespaces/secrets/TOK",
			label: "codespaces repo acme/web",
		},
		{
			name:   "environment_escaped",
			target: Target{Name: "TOK", Type: Actions, Scope: ScopeEnvironment, Repo: Repo{"acme", "web"}, Environment: "prod / eu"},
			key:    "repos/acme/web/environments/prod%20%2F%20eu/secrets/public-key", secret: "repos/acme/web/environments/prod%20%2F%20eu/secrets/TOK",
			label: "actions env acme/web:prod / eu",
		},
		{
			name:   "organization",
			target: Target{Name: "TOK", Type: Dependabot, Scope: ScopeOrganization, Org: "acme", Visibility: VisibilitySelected, SelectedRepos: []Repo{{"acme", "a"}}},
			key:    "orgs/acme/dependabot/secrets/public-key", secret: "orgs/acme/dependabot/secrets/TOK",
			label: "dependabot org acme (selected: 1 repos)",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := []string{tc.target.KeyPath(), tc.target.SecretPath(), tc.target.Label()}
			if diff := cmp.Diff([]string{tc.key, tc.secret, tc.label}, got); diff != "" {
				t.Errorf("paths (-want +got):\n%s", diff)
			}
		})
	}
}
