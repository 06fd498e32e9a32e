package cli

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tokenmint/tokenmint/internal/fakeserver"
)

// TestRun_AgainstFakeServer: every CLI command works on the URLs
// `tokenmint fake-server` advertises (the README's examples and the quick
// start use them), the GitHub ones included: github-api-url BASE/github is
// used as given (it has a path), not turned into BASE/github/api/v3.
func TestRun_AgainstFakeServer(t *testing.T) {
	t.Parallel()
	svc, h := fakeserver.New()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	urls := fakeserver.APIURLs(srv.URL)
	tooken := map[string]string{
		"TOKENMINT_PROVIDER": "tooken", "TOKENMINT_API_URL": urls["tooken"], "TOKENMINT_ADMIN_KEY": fakeserver.TookenKey,
		"GITHUB_TOKEN": fakeserver.GitHubToken, "TOKENMINT_GITHUB_API_URL": urls["github"],
	}
	steps := []struct {
		name string
		env  map[string]string
		args []string
	}{
		{name: "mint", env: tooken, args: []string{"mint", "--scopes", "tokens:read", "--name", "fs"}},
		{name: "list", env: tooken, args: []string{"list"}},
		{name: "rotate", env: tooken, args: []string{"rotate", "--scopes", "tokens:read", "--secret-name", "TOOKEN_TOKEN", "--secret-repositories", "octo-org/alpha"}},
		{name: "rotate_org_dependabot_selected", env: tooken, args: []string{"rotate", "--scopes", "tokens:read", "--secret-name", "TOOKEN_TOKEN", "--secret-type", "dependabot",
			"--secret-org", "octo-org", "--secret-visibility", "selected", "--secret-selected-repositories", "alpha,beta"}},
		{name: "github_app_mint", env: map[string]string{
			"TOKENMINT_PROVIDER": "github-app", "TOKENMINT_API_URL": urls["github-app"], "TOKENMINT_ADMIN_KEY": svc.GitHubApp.App.Key.PKCS1PEM(),
			"TOKENMINT_CLIENT_ID": fakeserver.GitHubClientID, "TOKENMINT_OWNER": fakeserver.GitHubAppOwner,
		}, args: []string{"mint", "--output", "json"}},
	}
	for _, s := range steps {
		r := run(t, s.env, "", s.args...)
		if r.code != 0 {
			t.Fatalf("%s: exit %d: %s", s.name, r.code, r.stderr)
		}
	}
	if sec, ok := svc.Secrets.RepoSecret("actions", "octo-org", "alpha", "TOOKEN_TOKEN"); !ok || !strings.HasPrefix(sec.Value, "tok_") {
		t.Errorf("rotate did not write octo-org/alpha's secret: %+v", sec)
	}
	if sec, ok := svc.Secrets.OrgSecret("dependabot", "octo-org", "TOOKEN_TOKEN"); !ok || len(sec.SelectedRepositoryIDs) != 2 {
		t.Errorf("rotate did not write the Dependabot org secret for 2 repositories: %+v", sec)
	}
	if n := len(svc.GitHubApp.Tokens()); n != 1 {
		t.Errorf("github-app mint issued %d tokens, want 1", n)
	}
}
