package cli

import (
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenmint/tokenmint/internal/fake"
	"github.com/tokenmint/tokenmint/internal/fake/ghsecrets"
)

// rotate reports each target on stderr as it finishes, and every retry,
// so a long rotation is never silent; stdout keeps only the result.
func TestRotate_ProgressOnStderr(t *testing.T) {
	t.Parallel()
	_, env := newFake(t)
	gh := ghsecrets.New(testGHToken)
	gh.AutoRepos = true
	gh.Push(ghsecrets.RouteRepoKey, fake.Fault{Status: 502, Body: `{"message":"Bad Gateway"}`})
	srv := httptest.NewServer(gh)
	t.Cleanup(srv.Close)
	env["GITHUB_TOKEN"] = testGHToken
	env["TOKENMINT_GITHUB_API_URL"] = srv.URL
	r := run(t, env, "", "rotate", "--scopes", "tokens:read", "--secret-name", "API_TOKEN", "--secret-repositories", "o/a,o/b,o/c", "-o", "json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	progress := regexp.MustCompile(`(?m)^tokenmint: \[(\d)/3\] actions repo o/[abc]: created$`)
	var seen []string
	for _, m := range progress.FindAllStringSubmatch(r.stderr, -1) {
		seen = append(seen, m[1])
	}
	if diff := cmp.Diff([]string{"1", "2", "3"}, seen); diff != "" {
		t.Errorf("progress lines (-want +got):\n%s\nstderr:\n%s", diff, r.stderr)
	}
	if !regexp.MustCompile(`(?m)^tokenmint: .*502.*retrying`).MatchString(r.stderr) {
		t.Errorf("the GitHub retry is not reported:\n%s", r.stderr)
	}
	resolved := regexp.MustCompile(`(?m)^tokenmint: \[\d/3\] actions repo o/[abc]: resolved, planned$`)
	if n := len(resolved.FindAllString(r.stderr, -1)); n != 3 {
		t.Errorf("%d resolve lines, want 3:\n%s", n, r.stderr)
	}
	if strings.Contains(r.stdout, "[1/3]") {
		t.Errorf("progress on stdout")
	}
}

// A retried provider call is reported on stderr (httpx.WithOnRetry).
func TestMint_RetryReported(t *testing.T) {
	t.Parallel()
	f, env := newFake(t)
	f.Push("POST /v1/tokens", fake.Fault{Status: 429, Header: map[string]string{"Retry-After": "1"}, Body: `{"error":{"code":"rate_limited","message":"slow down"}}`})
	r := run(t, env, "", "mint", "--scopes", "tokens:read")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if !regexp.MustCompile(`(?m)^tokenmint: retrying a POST request in 1s \(attempt 1 failed\): Tooken API answered 429`).MatchString(r.stderr) {
		t.Errorf("the retry is not reported:\n%s", r.stderr)
	}
	if strings.Contains(r.stderr, testKey) {
		t.Error("stderr holds the admin key")
	}
}

// --dry-run stands alone (a bare boolean) and mints nothing.
func TestRotate_DryRunBare(t *testing.T) {
	t.Parallel()
	f, env := newFake(t)
	gh := ghsecrets.New(testGHToken)
	gh.AutoRepos = true
	srv := httptest.NewServer(gh)
	t.Cleanup(srv.Close)
	env["GITHUB_TOKEN"] = testGHToken
	env["TOKENMINT_GITHUB_API_URL"] = srv.URL
	r := run(t, env, "", "rotate", "--scopes", "tokens:read", "--secret-name", "API_TOKEN", "--secret-repositories", "o/a", "--dry-run", "-o", "json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, `"dry_run": true`) || len(f.Store.All()) != 0 {
		t.Errorf("dry run minted %d tokens:\n%s", len(f.Store.All()), r.stdout)
	}
	if r := run(t, env, "", "rotate", "--scopes", "tokens:read", "--secret-name", "API_TOKEN", "--secret-repositories", "o/a", "--dry-run=maybe"); r.code != ExitUsage {
		t.Errorf("--dry-run=maybe: exit %d, want 2", r.code)
	}
}
