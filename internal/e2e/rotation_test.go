package e2e

import (
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenmint/tokenmint/internal/fake/ghsecrets"
)

const githubToken = "github_pat_e2eWriterToken0123456789abcdef"

type rotationEnv struct {
	*tookenEnv
	gh    *ghsecrets.Server
	ghURL string
}

func newRotationEnv(t *testing.T) *rotationEnv {
	t.Helper()
	gh := ghsecrets.New(githubToken)
	gh.AutoRepos = true
	srv := httptest.NewServer(gh)
	t.Cleanup(srv.Close)
	return &rotationEnv{tookenEnv: newTooken(t), gh: gh, ghURL: srv.URL}
}

func (e *rotationEnv) rotationInputs(extra map[string]string) map[string]string {
	in := e.inputs(map[string]string{
		"github-token":        githubToken,
		"github-api-url":      e.ghURL,
		"secret-name":         "API_TOKEN",
		"secret-repositories": "octo-org/app, octo-org/api, octo-org/web",
		"ttl":                 "7d",
	})
	for k, v := range extra {
		in[k] = v
	}
	return in
}

func rotationHygiene(t *testing.T, j *Job, e *rotationEnv) {
	t.Helper()
	secrets := append([]string{adminKey, githubToken}, e.fake.Store.Secrets()...)
	if leaks := j.Leaks(secrets); len(leaks) > 0 {
		t.Errorf("secrets leaked: %v", leaks)
	}
	for _, c := range j.Commands() {
		if !slices.Contains(allowedCommands, c) {
			t.Errorf("unexpected workflow command %q", c)
		}
	}
}

var rotationName = regexp.MustCompile(`^tokenmint-octo-org-api-API_TOKEN-[0-9a-f]{10}-[0-9]{8}T[0-9]{6}Z-[a-z2-7]{13}$`)

func TestAction_Rotation(t *testing.T) {
	t.Parallel()
	e := newRotationEnv(t)

	// First rotation: three repository secrets.
	j1 := NewJob(t, e.rotationInputs(nil))
	m1 := j1.Main(t)
	if m1.ExitCode != 0 {
		t.Fatalf("main exit %d\n%s%s", m1.ExitCode, m1.Stdout, m1.Stderr)
	}
	first := j1.Outputs["token"]
	for _, repo := range []string{"app", "api", "web"} {
		s, ok := e.gh.RepoSecret("actions", "octo-org", repo, "API_TOKEN")
		if !ok || s.Value != first {
			t.Errorf("octo-org/%s: stored secret is not the minted token (found %v)", repo, ok)
		}
	}
	// <prefix>-<timestamp>-<nonce>, the prefix readable (first target
	// repository, secret name) and ending in the identity's hash.
	if !rotationName.MatchString(j1.Outputs["token-name"]) {
		t.Errorf("rotation name %q is not tokenmint-octo-org-api-API_TOKEN-<hash>-<timestamp>-<nonce>", j1.Outputs["token-name"])
	}
	// revoke: auto keeps a token that lives in secrets.
	if p := j1.Post(t); p.ExitCode != 0 || len(e.fake.Store.Live()) != 1 {
		t.Fatalf("post revoked the rotated token or failed (exit %d, live %d)\n%s", p.ExitCode, len(e.fake.Store.Live()), p.Stdout)
	}
	rotationHygiene(t, j1, e)

	// Second rotation retires the first token.
	j2 := NewJob(t, e.rotationInputs(nil))
	j2.Context["GITHUB_RUN_ID"] = "4243"
	if m := j2.Main(t); m.ExitCode != 0 {
		t.Fatalf("second main exit %d\n%s", m.ExitCode, m.Stdout)
	}
	second := j2.Outputs["token"]
	live := e.fake.Store.Live()
	if len(live) != 1 || live[0].Secret != second {
		t.Errorf("after the second rotation want only the new token live, got %d live", len(live))
	}
	s, _ := e.gh.RepoSecret("actions", "octo-org", "api", "API_TOKEN")
	if s.Value != second {
		t.Errorf("secret does not hold the second token")
	}
	if !strings.Contains(j2.Summary, "revoked") {
		t.Errorf("summary does not list the retired token:\n%s", j2.Summary)
	}
	rotationHygiene(t, j2, e)
}

func TestAction_RotationPartialFailure(t *testing.T) {
	t.Parallel()
	e := newRotationEnv(t)
	j1 := NewJob(t, e.rotationInputs(nil))
	if m := j1.Main(t); m.ExitCode != 0 {
		t.Fatalf("main exit %d\n%s", m.ExitCode, m.Stdout)
	}
	oldID := j1.Outputs["token-id"]

	e.gh.Fail("PUT", "/repos/octo-org/api/actions/secrets/API_TOKEN", 403)
	j2 := NewJob(t, e.rotationInputs(nil))
	j2.Context["GITHUB_RUN_ID"] = "4243"
	m := j2.Main(t)
	if m.ExitCode != 1 {
		t.Fatalf("main exit %d, want 1\n%s", m.ExitCode, m.Stdout)
	}
	var liveIDs []string
	for _, r := range e.fake.Store.Live() {
		liveIDs = append(liveIDs, r.ID)
	}
	if !slices.Contains(liveIDs, oldID) || len(liveIDs) != 2 {
		t.Errorf("want the old token alive and the new one kept, live: %v", liveIDs)
	}
	if !strings.Contains(j2.Summary, "octo-org/api") || !strings.Contains(j2.Summary, "failed") {
		t.Errorf("summary does not name the failed target:\n%s", j2.Summary)
	}
	if p := j2.Post(t); p.ExitCode != 0 || len(e.fake.Store.Live()) != 2 {
		t.Errorf("post revoked a token some secrets hold (exit %d)", p.ExitCode)
	}
	rotationHygiene(t, j2, e)
}

func TestAction_RotationDryRun(t *testing.T) {
	t.Parallel()
	e := newRotationEnv(t)
	j := NewJob(t, e.rotationInputs(map[string]string{"dry-run": "true"}))
	m := j.Main(t)
	if m.ExitCode != 0 {
		t.Fatalf("main exit %d\n%s", m.ExitCode, m.Stdout)
	}
	for _, meth := range e.gh.Methods() {
		if meth != "GET" {
			t.Errorf("dry run sent %s to GitHub", meth)
		}
	}
	got := map[string]int{}
	for _, r := range e.fake.Requests() {
		got[r]++
	}
	if diff := cmp.Diff(map[string]int{"GET /v1/tokens": 1}, got); diff != "" {
		t.Errorf("token service requests (-want +got):\n%s", diff)
	}
	if len(e.gh.Secrets()) != 0 || len(e.fake.Store.All()) != 0 {
		t.Errorf("dry run wrote or minted something")
	}
	if !strings.Contains(m.Stdout, "octo-org/web") {
		t.Errorf("plan does not list the targets:\n%s", m.Stdout)
	}
	rotationHygiene(t, j, e)
}

func TestAction_NativeRotation(t *testing.T) {
	t.Parallel()
	e := newRotationEnv(t)
	// A token minted earlier, rotated in place.
	j1 := NewJob(t, e.inputs(map[string]string{"revoke": "never"}))
	if m := j1.Main(t); m.ExitCode != 0 {
		t.Fatalf("main exit %d", m.ExitCode)
	}
	id, oldSecret := j1.Outputs["token-id"], j1.Outputs["token"]
	j2 := NewJob(t, e.rotationInputs(map[string]string{"token-id": id}))
	if m := j2.Main(t); m.ExitCode != 0 {
		t.Fatalf("native rotation exit %d\n%s", m.ExitCode, m.Stdout)
	}
	rec, _ := e.fake.Store.Get(id)
	if rec.Secret == oldSecret || j2.Outputs["token"] != rec.Secret || j2.Outputs["token-id"] != id {
		t.Errorf("native rotation did not hand out the new secret of the same ID")
	}
	s, _ := e.gh.RepoSecret("actions", "octo-org", "web", "API_TOKEN")
	if s.Value != rec.Secret {
		t.Errorf("secret does not hold the rotated secret")
	}
	if e.fake.Count("POST /v1/tokens/{id}/rotate") != 1 || e.fake.Count("POST /v1/tokens") != 1 {
		t.Errorf("want one create (setup) and one rotate, got %v", e.fake.Requests())
	}
	rotationHygiene(t, j2, e)
}
