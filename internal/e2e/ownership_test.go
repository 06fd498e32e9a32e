package e2e

// Regression tests for issue 11 (token ownership), one per observation,
// through the binary as the runner runs it: each phase's output is checked
// on its own.

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tokenmint/tokenmint/internal/fake"
	fakehookbase "github.com/tokenmint/tokenmint/internal/fake/hookbase"
	faketooken "github.com/tokenmint/tokenmint/internal/fake/tooken"
	"github.com/tokenmint/tokenmint/internal/ledger"
)

const ownHookKey = "whr_live_e2eownershipkey0123456789ab"

// live reports whether the fake holds id live.
func live(s *fake.Store, id string) bool {
	r, ok := s.Get(id)
	return ok && r.Live(time.Now())
}

func mustMain(t *testing.T, j *Job) Phase {
	t.Helper()
	p := j.Main(t)
	if p.ExitCode != 0 {
		t.Fatalf("main exit %d\n%s%s", p.ExitCode, p.Stdout, p.Stderr)
	}
	return p
}

func mustPost(t *testing.T, j *Job) Phase {
	t.Helper()
	p := j.Post(t)
	if p.ExitCode != 0 {
		t.Fatalf("post exit %d\n%s%s", p.ExitCode, p.Stdout, p.Stderr)
	}
	return p
}

func warnings(text string) []string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, "::warning::") {
			out = append(out, l)
		}
	}
	return out
}

// ledgerOf reads the ledger main saved in state.
func ledgerOf(t *testing.T, j *Job) []ledger.Entry {
	t.Helper()
	l, err := ledger.Decode(j.State["ledger"])
	if err != nil {
		t.Fatalf("state ledger: %v", err)
	}
	return l.Entries()
}

// Matrix legs (same run ID, attempt, job and step) and jobs that share an
// explicit name: each mints its own token, and neither clean-up touches
// the other's, even when a leg's first create meets a 409.
func TestOwnership_SharedNamesNeverCollide(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"", "deploy"} {
		t.Run("name="+name, func(t *testing.T) {
			t.Parallel()
			e := newTooken(t)
			in := e.inputs(map[string]string{"name": name})
			a, b := NewJob(t, in), NewJob(t, in)
			mustMain(t, a)
			e.fake.Push("POST /v1/tokens", fake.Fault{Status: 409, Body: `{"error":"conflict","message":"A token with this name already exists","status":409}`})
			mb := mustMain(t, b)
			idA, idB := a.Outputs["token-id"], b.Outputs["token-id"]
			if idA == idB || !live(e.fake.Store, idA) || !live(e.fake.Store, idB) {
				t.Fatalf("after both mains: A %s live %v, B %s live %v", idA, live(e.fake.Store, idA), idB, live(e.fake.Store, idB))
			}
			if strings.Contains(mb.Stdout, "Revoked") || strings.Contains(mb.Stdout, "revoked 1") {
				t.Errorf("B's main revoked something:\n%s", mb.Stdout)
			}
			if pa, pb := NamePrefix(a.Outputs["token-name"]), NamePrefix(b.Outputs["token-name"]); pa != pb || pa == "" {
				t.Errorf("prefixes %q and %q: want one shared prefix, each name with its nonce", pa, pb)
			}
			if got := ledgerOf(t, b); len(got) != 2 || got[0].Outcome != ledger.Refused || got[1].Outcome != ledger.Minted {
				t.Errorf("B's ledger = %+v, want the 409 name refused, the next minted", got)
			}
			pb := mustPost(t, b)
			if !live(e.fake.Store, idA) || live(e.fake.Store, idB) {
				t.Fatalf("after B's post: A live %v (want true), B live %v (want false)", live(e.fake.Store, idA), live(e.fake.Store, idB))
			}
			if strings.Count(pb.Stdout, "Revoked") != 1 || len(e.fake.Requests()) == 0 {
				t.Errorf("B's post:\n%s", pb.Stdout)
			}
			for _, r := range e.fake.Requests() {
				if r == "GET /v1/tokens" {
					t.Errorf("a refused name was looked up: %v", e.fake.Requests())
				}
			}
			mustPost(t, a)
			if n := len(e.fake.Store.Live()); n != 0 {
				t.Errorf("%d tokens live at the end", n)
			}
			checkHygiene(t, a, e)
			checkHygiene(t, b, e)
		})
	}
}

// A 5xx on the first create (nothing created) never touches another run's
// tokens, even ones named exactly like this run's prefix or like another
// run's names.
func TestOwnership_5xxFirstCreateSparesOthers(t *testing.T) {
	t.Parallel()
	e := newTooken(t)
	prefix := "tokenmint-octo-org-octo-repo-build-4242-1"
	var foreign []string
	for _, n := range []string{prefix, prefix + "-abcdefghijklm", prefix + "-abcdefghijklm-2", strings.ToUpper(prefix) + "-abcdefghijklm"} {
		foreign = append(foreign, e.fake.Store.Add(fake.Record{ID: "tok_other_" + n, Name: n, Secret: "tok_live_other", ExpiresAt: time.Now().Add(time.Hour)}).ID)
	}
	e.fake.Push("POST /v1/tokens", fake.Fault{Status: 502, Body: "bad gateway"})
	j := NewJob(t, e.inputs(nil))
	mustMain(t, j)
	mustPost(t, j)
	for _, id := range foreign {
		if !live(e.fake.Store, id) {
			t.Errorf("another run's token %s was revoked", id)
		}
	}
	if live(e.fake.Store, j.Outputs["token-id"]) {
		t.Errorf("the job's own token is still live")
	}
	checkHygiene(t, j, e)
}

// Hookbase names are not unique. Job B's main is killed after its create
// was performed; B's post revokes B's key alone, not A's of the same name.
func TestOwnership_HookbaseKilledMainSweepsOnlyItsOwn(t *testing.T) {
	t.Parallel()
	f := fakehookbase.New(ownHookKey, nil, fakehookbase.Options{})
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	in := map[string]string{"provider": "hookbase", "admin-key": ownHookKey, "api-url": srv.URL, "scopes": "read", "name": "ci-key"}
	a, b := NewJob(t, in), NewJob(t, in)
	mustMain(t, a)
	idA := a.Outputs["token-id"]
	f.Push(fakehookbase.RouteCreate, fake.Fault{After: true, Delay: time.Minute})
	mb := b.MainUntil(t, func() bool { return len(f.Store.All()) == 2 })
	if mb.ExitCode == 0 {
		t.Fatalf("B's main was not killed")
	}
	var idB string
	for _, r := range f.Store.All() {
		if r.ID != idA {
			idB = r.ID
		}
	}
	pb := mustPost(t, b)
	if !live(f.Store, idA) {
		t.Fatalf("B's post revoked A's live key of the same name:\n%s", pb.Stdout)
	}
	if live(f.Store, idB) {
		t.Fatalf("B's post left B's own key live:\n%s", pb.Stdout)
	}
	if w := warnings(pb.Stdout); len(w) != 0 {
		t.Errorf("post warned: %v", w)
	}
	mustPost(t, a)
	if n := len(f.Store.Live()); n != 0 {
		t.Errorf("%d keys live at the end", n)
	}
}

// A static name on Tooken works on every run: revoked names stay taken,
// but each run's nonce makes its names new.
func TestOwnership_StaticNameEveryRun(t *testing.T) {
	t.Parallel()
	e := newTooken(t)
	for run := 1; run <= 6; run++ {
		j := NewJob(t, e.inputs(map[string]string{"name": "static"}))
		j.Context["GITHUB_RUN_ID"] = "100"
		mustMain(t, j)
		mustPost(t, j)
	}
	if n := len(e.fake.Store.All()); n != 6 {
		t.Errorf("%d tokens made over 6 runs, want 6 (one each, no retries)", n)
	}
	if n := len(e.fake.Store.Live()); n != 0 {
		t.Errorf("%d tokens live", n)
	}
}

// The first create is performed but answered 502 and the admin key may not
// list (tokens:read missing, like the README's example key): main warns
// naming the lost name and the scope, post tries again and warns again.
func TestOwnership_UnconfirmedCleanupWarns(t *testing.T) {
	t.Parallel()
	f := faketooken.New(adminKey, []string{"tokens:write", "tokens:revoke"})
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	e := &tookenEnv{fake: f, url: srv.URL + "/v1"}
	f.Push("POST /v1/tokens", fake.Fault{After: true, Status: 502, Body: "upstream"})
	j := NewJob(t, e.inputs(nil))
	main := mustMain(t, j)
	entries := ledgerOf(t, j)
	if len(entries) != 2 || entries[0].Outcome != ledger.Pending {
		t.Fatalf("ledger = %+v", entries)
	}
	lost := entries[0].Name
	for phase, out := range map[string]string{"main": main.Stdout} {
		w := strings.Join(warnings(out), "\n")
		if !strings.Contains(w, lost) || !strings.Contains(w, "tokens:read") {
			t.Errorf("%s did not warn naming %s and tokens:read:\n%s", phase, lost, out)
		}
	}
	post := mustPost(t, j)
	w := strings.Join(warnings(post.Stdout), "\n")
	if !strings.Contains(w, lost) || !strings.Contains(w, "tokens:read") {
		t.Errorf("post did not warn naming %s and tokens:read:\n%s", lost, post.Stdout)
	}
	if live(f.Store, j.Outputs["token-id"]) {
		t.Errorf("the handed-out token is still live")
	}
	survivors := f.Store.Live()
	if len(survivors) != 1 || survivors[0].Name != lost {
		t.Errorf("survivors = %+v, want only the lost, warned-about token", survivors)
	}
	checkHygiene(t, j, e)
}

// A create held past the timeout and committed late (Hookbase) is found by
// its pending name and revoked by post, although a later attempt succeeded.
func TestOwnership_LateCommitSweptByPost(t *testing.T) {
	t.Parallel()
	f := fakehookbase.New(ownHookKey, nil, fakehookbase.Options{})
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	in := map[string]string{"provider": "hookbase", "admin-key": ownHookKey, "api-url": srv.URL, "scopes": "read", "timeout": "1s"}
	// Committed 3s after main gave up on it: after main's own sweep.
	f.Push(fakehookbase.RouteCreate, fake.Fault{Late: true, Delay: 3 * time.Second})
	j := NewJob(t, in)
	mustMain(t, j)
	if n := len(f.Store.All()); n != 1 {
		t.Fatalf("%d keys when main ended, want only the handed-out one (the late one not yet committed)", n)
	}
	deadline := time.Now().Add(30 * time.Second)
	for f.LateCommits() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if len(f.Store.Live()) != 2 {
		t.Fatalf("live keys before post = %d, want the late one and the handed-out one (late commits %d, all %+v, requests %v)", len(f.Store.Live()), f.LateCommits(), f.Store.All(), f.Requests())
	}
	post := mustPost(t, j)
	if n := len(f.Store.Live()); n != 0 {
		t.Fatalf("%d keys live after post:\n%s", n, post.Stdout)
	}
	if !strings.Contains(post.Stdout, "lost attempt") {
		t.Errorf("post did not report the late key it revoked:\n%s", post.Stdout)
	}
}

// After SIGTERM during the first create, the error counts one attempt.
func TestOwnership_SIGTERMCountsAttempts(t *testing.T) {
	t.Parallel()
	e := newTooken(t)
	e.fake.Push("POST /v1/tokens", fake.Fault{Delay: time.Minute})
	j := NewJob(t, e.inputs(nil))
	main := j.MainSignal(t, syscall.SIGTERM, func() bool { return e.fake.Count("POST /v1/tokens") > 0 })
	if main.ExitCode != 1 {
		t.Fatalf("main exit %d, want 1\n%s%s", main.ExitCode, main.Stdout, main.Stderr)
	}
	if !strings.Contains(main.Stdout, "after 1 attempt(s)") || strings.Contains(main.Stdout, "4 attempt(s)") {
		t.Errorf("main's error does not count one attempt:\n%s", main.Stdout)
	}
	mustPost(t, j)
	if n := len(e.fake.Store.Live()); n != 0 {
		t.Errorf("%d tokens live", n)
	}
}

// A rest profile whose max_name_length cannot hold the nonce is one clear
// input error (it used to panic in the name fitting); nothing is sent.
func TestOwnership_RestTinyNameLimit(t *testing.T) {
	t.Parallel()
	e := newTooken(t)
	profile := `
base_url: ` + e.url + `
auth: {header: Authorization, value: "Bearer {{admin_key}}"}
max_name_length: 10
create:
  path: /tokens
  body: {name: "{{name}}", scopes: "{{scopes}}"}
  response: {id: /id, secret: /token}
revoke: {path: "/tokens/{{id}}"}
`
	j := NewJob(t, map[string]string{"provider": "rest", "admin-key": adminKey, "provider-config": profile})
	main := j.Main(t)
	if main.ExitCode != 1 || !strings.Contains(main.Stdout, "::error::") || !strings.Contains(main.Stdout, "provider-config") ||
		!strings.Contains(main.Stdout, "max_name_length") || strings.Contains(main.Stdout+main.Stderr, "panic") {
		t.Errorf("main exit %d:\n%s%s", main.ExitCode, main.Stdout, main.Stderr)
	}
	if n := e.fake.Total(); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

// Two CLI mints in the same second get distinct names and both live.
func TestOwnership_CLIMintsInOneSecond(t *testing.T) {
	t.Parallel()
	e := newTooken(t)
	bins := Build(t)
	var names []string
	for range 2 {
		cmd := exec.Command(bins.Tokenmint, "mint", "--provider", "tooken", "--api-url", e.url, "--scopes", "tokens:read", "--output", "json")
		cmd.Env = append(os.Environ(), "TOKENMINT_ADMIN_KEY="+adminKey, "GITHUB_ACTIONS=", "HOME="+t.TempDir())
		cmd.Dir = filepath.Dir(bins.Tokenmint)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("mint: %v", err)
		}
		var v struct {
			Name string `json:"name"`
		}
		if err := json.Unmarshal(out, &v); err != nil {
			t.Fatal(err)
		}
		names = append(names, v.Name)
	}
	if names[0] == names[1] || !strings.HasPrefix(names[0], "tokenmint-cli-") || NamePrefix(names[0]) == "" {
		t.Errorf("names %q: want two distinct tokenmint-cli-<time>-<nonce> names", names)
	}
	if n := len(e.fake.Store.Live()); n != 2 {
		t.Errorf("%d tokens live, want 2", n)
	}
}

// Rotation: when every target fails, the new token is not kept (summary
// and state say so) and post revokes it; a target whose public key cannot
// be read stops the rotation before anything is minted.
func TestOwnership_RotationTokenNoTargetHolds(t *testing.T) {
	t.Parallel()
	e := newRotationEnv(t)
	for _, repo := range []string{"app", "api", "web"} {
		e.gh.Fail(http.MethodPut, "/repos/octo-org/"+repo+"/actions/secrets/API_TOKEN", http.StatusForbidden)
	}
	j := NewJob(t, e.rotationInputs(nil))
	main := j.Main(t)
	if main.ExitCode != 1 {
		t.Fatalf("main exit %d, want 1\n%s", main.ExitCode, main.Stdout)
	}
	if j.State["revoke"] != "true" || strings.Contains(j.Summary, "kept") || !strings.Contains(j.Summary, "no secret target holds it") {
		t.Errorf("state revoke %q; summary:\n%s", j.State["revoke"], j.Summary)
	}
	mustPost(t, j)
	if n := len(e.fake.Store.Live()); n != 0 {
		t.Errorf("%d tokens live after post, want 0 (no secret holds the new one)", n)
	}
	rotationHygiene(t, j, e)

	// One target holds it: kept, and the summary says where.
	e.gh.ClearFail()
	e.gh.Fail(http.MethodPut, "/repos/octo-org/web/actions/secrets/API_TOKEN", http.StatusForbidden)
	j2 := NewJob(t, e.rotationInputs(nil))
	if m := j2.Main(t); m.ExitCode != 1 {
		t.Fatalf("main exit %d", m.ExitCode)
	}
	if j2.State["revoke"] != "false" || !strings.Contains(j2.Summary, "kept: it is stored in 2 secret target(s)") {
		t.Errorf("state revoke %q; summary:\n%s", j2.State["revoke"], j2.Summary)
	}
	mustPost(t, j2)
	if !live(e.fake.Store, j2.Outputs["token-id"]) {
		t.Errorf("post revoked the token two secrets hold")
	}
}

func TestOwnership_RotationResolvesKeysBeforeMinting(t *testing.T) {
	t.Parallel()
	e := newRotationEnv(t)
	e.gh.Fail(http.MethodGet, "/repos/octo-org/web/actions/secrets/public-key", http.StatusForbidden)
	j := NewJob(t, e.rotationInputs(nil))
	main := j.Main(t)
	if main.ExitCode != 1 || !strings.Contains(main.Stdout, "nothing was minted") {
		t.Fatalf("main exit %d\n%s", main.ExitCode, main.Stdout)
	}
	if n := e.fake.Count("POST /v1/tokens"); n != 0 {
		t.Errorf("%d creates sent although a target's public key could not be read", n)
	}
	mustPost(t, j)
}

// acme/labs-web and acme-labs/web with the same secret name are different
// rotations: the second never retires the first's token.
func TestOwnership_RotationLineagesDiffer(t *testing.T) {
	t.Parallel()
	e := newRotationEnv(t)
	a := NewJob(t, e.rotationInputs(map[string]string{"secret-repositories": "acme/labs-web"}))
	mustMain(t, a)
	b := NewJob(t, e.rotationInputs(map[string]string{"secret-repositories": "acme-labs/web"}))
	mb := mustMain(t, b)
	if NamePrefix(a.Outputs["token-name"]) == NamePrefix(b.Outputs["token-name"]) {
		t.Errorf("both rotations use the prefix %q", NamePrefix(a.Outputs["token-name"]))
	}
	if !live(e.fake.Store, a.Outputs["token-id"]) {
		t.Errorf("the acme-labs/web rotation retired acme/labs-web's token:\n%s", mb.Stdout)
	}
	// A later run of the first rotation does retire it.
	time.Sleep(1100 * time.Millisecond) // a later second: strictly older
	c := NewJob(t, e.rotationInputs(map[string]string{"secret-repositories": "acme/labs-web"}))
	mustMain(t, c)
	if live(e.fake.Store, a.Outputs["token-id"]) || !live(e.fake.Store, b.Outputs["token-id"]) {
		t.Errorf("after the second acme/labs-web rotation: first live %v (want false), acme-labs/web live %v (want true)",
			live(e.fake.Store, a.Outputs["token-id"]), live(e.fake.Store, b.Outputs["token-id"]))
	}
}
