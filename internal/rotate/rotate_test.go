package rotate

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenmint/tokenmint/internal/fake"
	"github.com/tokenmint/tokenmint/internal/fake/ghsecrets"
	"github.com/tokenmint/tokenmint/internal/ghsecret"
	"github.com/tokenmint/tokenmint/internal/ledger"
	"github.com/tokenmint/tokenmint/internal/provider"
	"github.com/tokenmint/tokenmint/internal/redact"
)

const ghToken = "ghp_FAKEgithubTOKENforROTATION0123456789"

var t0 = time.Date(2026, 11, 23, 17, 0, 0, 0, time.UTC)

// fakeProvider is an in-memory provider.Provider (and Rotator) that
// records mints, revokes and rotations.
type fakeProvider struct {
	mu      sync.Mutex
	now     func() time.Time
	tokens  []provider.Token
	mints   []string // names
	revokes []string // IDs
	rotates []string // IDs
	calls   []string // "mint", "list", "revoke", "rotate" in order
	noList  bool
	n       int
}

func (p *fakeProvider) Mint(_ context.Context, req provider.MintRequest) (*provider.Token, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	t := provider.Token{ID: fmt.Sprintf("tok_%d", p.n), Name: req.Name, Secret: redact.Secret("tok_live_" + fake.RandomHex(16)), Scopes: req.Scopes, CreatedAt: p.now()}
	p.tokens = append(p.tokens, t)
	p.mints = append(p.mints, req.Name)
	p.calls = append(p.calls, "mint")
	return &t, nil
}

func (p *fakeProvider) Revoke(_ context.Context, t provider.Token) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.revokes = append(p.revokes, t.ID)
	p.calls = append(p.calls, "revoke")
	for i := range p.tokens {
		if p.tokens[i].ID == t.ID {
			p.tokens[i].Revoked = true
		}
	}
	return nil
}

func (p *fakeProvider) List(_ context.Context, hint string) ([]provider.Token, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, "list")
	if p.noList {
		return nil, provider.ErrNotSupported
	}
	var out []provider.Token
	for _, t := range p.tokens {
		if strings.Contains(strings.ToLower(t.Name), strings.ToLower(hint)) {
			t.Secret = ""
			out = append(out, t)
		}
	}
	return out, nil
}

func (p *fakeProvider) Rotate(_ context.Context, id string) (*provider.Token, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rotates = append(p.rotates, id)
	p.calls = append(p.calls, "rotate")
	for i := range p.tokens {
		if p.tokens[i].ID == id {
			p.tokens[i].Secret = redact.Secret("tok_live_" + fake.RandomHex(16))
			t := p.tokens[i]
			return &t, nil
		}
	}
	return nil, errors.New("not found")
}

// add stores an existing token (an earlier rotation or a stranger).
func (p *fakeProvider) add(name string, created time.Time) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	id := fmt.Sprintf("tok_%d", p.n)
	p.tokens = append(p.tokens, provider.Token{ID: id, Name: name, CreatedAt: created})
	return id
}

func (p *fakeProvider) revoked() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.revokes...)
}

// listless hides Rotate and List.
type listless struct{ p *fakeProvider }

func (l listless) Mint(ctx context.Context, r provider.MintRequest) (*provider.Token, error) {
	return l.p.Mint(ctx, r)
}
func (l listless) Revoke(ctx context.Context, t provider.Token) error { return l.p.Revoke(ctx, t) }
func (l listless) List(context.Context, string) ([]provider.Token, error) {
	return nil, provider.ErrNotSupported
}

type env struct {
	gh    *ghsecrets.Server
	url   string
	p     *fakeProvider
	clock *fake.Clock
	waits *fake.Clock // records the writer's waits (its time is not used)
}

func newEnv(tb testing.TB) *env {
	tb.Helper()
	gh := ghsecrets.New(ghToken)
	mux := http.NewServeMux()
	gh.Register(mux)
	ts := httptest.NewServer(mux)
	tb.Cleanup(ts.Close)
	c := fake.NewClock(t0)
	return &env{gh: gh, url: ts.URL, p: &fakeProvider{now: c.Now}, clock: c, waits: fake.NewClock(t0)}
}

func (e *env) writer(tb testing.TB) *ghsecret.Writer {
	tb.Helper()
	w, err := ghsecret.New(ghToken, e.url, ghsecret.WithPause(0), ghsecret.WithWait(e.waits.Sleep), ghsecret.WithClock(e.clock.Now))
	if err != nil {
		tb.Fatalf("ghsecret.New: %v", err)
	}
	return w
}

// testPrefix is the default prefix of the rotation the tests run.
var testPrefix = ledger.Rotation{Repositories: []string{"acme/web"}, SecretName: "API_TOKEN"}.DefaultPrefix()

func (e *env) config(tb testing.TB, targets []ghsecret.Target) Config {
	tb.Helper()
	l, err := ledger.New(ledger.Options{Prefix: testPrefix, Stamp: ledger.Stamp(e.clock.Now()), MaxNameLen: 100})
	if err != nil {
		tb.Fatalf("ledger.New: %v", err)
	}
	return Config{
		Provider: e.p,
		Request:  provider.MintRequest{Scopes: []string{"tokens:read"}, TTL: 7 * 24 * time.Hour},
		Ledger:   l,
		Mint:     ledger.MintOptions{Sleep: func(context.Context, time.Duration) error { return nil }},
		Targets:  targets,
		Writer:   e.writer(tb),
		Now:      e.clock.Now,
	}
}

// rotName is a name another run of the rotation would send at ts.
func rotName(tb testing.TB, prefix string, ts time.Time) string {
	tb.Helper()
	n, err := ledger.NewNonce()
	if err != nil {
		tb.Fatal(err)
	}
	return prefix + "-" + ledger.Stamp(ts) + "-" + n
}

func countMethod(methods []string, m string) int {
	n := 0
	for _, x := range methods {
		if x == m {
			n++
		}
	}
	return n
}

func repoTargets(tb testing.TB, e *env, names ...string) []ghsecret.Target {
	tb.Helper()
	var repos []string
	for _, n := range names {
		e.gh.AddRepo("acme", n)
		repos = append(repos, "acme/"+n)
	}
	ts, err := ghsecret.BuildTargets(ghsecret.TargetOptions{SecretName: "API_TOKEN", Repositories: repos})
	if err != nil {
		tb.Fatalf("BuildTargets: %v", err)
	}
	return ts
}

func noLeak(t *testing.T, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range append(secrets, ghToken) {
		if s != "" && strings.Contains(err.Error(), s) {
			t.Errorf("error leaks a secret: %q", err)
		}
	}
}

func TestRun_EveryTargetKind(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var targets []ghsecret.Target
	targets = append(targets, repoTargets(t, e, "a", "b", "c")...)
	e.gh.AddRepo("acme", "web")
	e.gh.AddRepo("acme", "api")
	build := func(o ghsecret.TargetOptions) {
		ts, err := ghsecret.BuildTargets(o)
		if err != nil {
			t.Fatalf("BuildTargets: %v", err)
		}
		targets = append(targets, ts...)
	}
	build(ghsecret.TargetOptions{SecretName: "API_TOKEN", Repositories: []string{"acme/web"}, Environment: "prod / eu west"})
	build(ghsecret.TargetOptions{SecretName: "API_TOKEN", Org: "acme", Visibility: "selected", SelectedRepositories: []string{"web", "acme/api"}})
	build(ghsecret.TargetOptions{SecretName: "API_TOKEN", SecretType: "dependabot", Org: "acme", Visibility: "selected", SelectedRepositories: []string{"api"}})
	build(ghsecret.TargetOptions{SecretName: "API_TOKEN", SecretType: "codespaces", Repositories: []string{"acme/c"}})

	cfg := e.config(t, targets)
	var hookSawPuts = -1
	cfg.OnToken = func(tok *provider.Token) error {
		hookSawPuts = countMethod(e.gh.Methods(), http.MethodPut)
		return nil
	}
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if hookSawPuts != 0 {
		t.Errorf("OnToken ran after %d secret writes, want before any", hookSawPuts)
	}
	want := res.Token.Secret.Reveal()
	if want := cfg.Ledger.Name(1); res.Name != want || res.Token.Name != res.Name {
		t.Errorf("name = %q / %q, want %q", res.Name, res.Token.Name, want)
	}
	if !strings.HasPrefix(res.Name, testPrefix+"-20261123T170000Z-") {
		t.Errorf("name %q is not <prefix>-<timestamp>-<nonce>", res.Name)
	}
	webID, _ := e.gh.RepoID("acme", "web")
	apiID, _ := e.gh.RepoID("acme", "api")
	type stored struct {
		Value string
		IDs   []int64
	}
	get := func(s ghsecrets.Secret, ok bool) stored {
		if !ok {
			return stored{Value: "<missing>"}
		}
		return stored{s.Value, s.SelectedRepositoryIDs}
	}
	got := []stored{
		get(e.gh.RepoSecret("actions", "acme", "a", "API_TOKEN")),
		get(e.gh.RepoSecret("actions", "acme", "b", "API_TOKEN")),
		get(e.gh.RepoSecret("actions", "acme", "c", "API_TOKEN")),
		get(e.gh.EnvSecret("acme", "web", "prod / eu west", "API_TOKEN")),
		get(e.gh.OrgSecret("actions", "acme", "API_TOKEN")),
		get(e.gh.OrgSecret("dependabot", "acme", "API_TOKEN")),
		get(e.gh.RepoSecret("codespaces", "acme", "c", "API_TOKEN")),
	}
	wantStored := []stored{{want, nil}, {want, nil}, {want, nil}, {want, nil}, {want, []int64{webID, apiID}}, {want, []int64{apiID}}, {want, nil}}
	if diff := cmp.Diff(wantStored, got); diff != "" {
		t.Errorf("stored (-want +got):\n%s", diff)
	}
	if res.Written() != 7 || len(res.Previous) != 0 || len(e.p.revoked()) != 0 {
		t.Errorf("written %d, previous %v, revoked %v", res.Written(), res.Previous, e.p.revoked())
	}
}

func TestRun_SecondRotationRetiresFirst(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name        string
		grace       time.Duration
		wantRevoked bool
		wantAction  Action
	}{
		{name: "grace_zero_revokes", grace: 0, wantRevoked: true, wantAction: Revoked},
		{name: "older_than_grace_revokes", grace: 30 * time.Minute, wantRevoked: true, wantAction: Revoked},
		{name: "within_grace_kept", grace: 2 * time.Hour, wantRevoked: false, wantAction: KeptGrace},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			targets := repoTargets(t, e, "a", "b")
			prefix := testPrefix
			// Strangers: same prefix but not a rotation name, another
			// rotation's prefix, a longer prefix, a case variant.
			old := t0.Add(-48 * time.Hour)
			manual := e.p.add(prefix+"-manual", old)
			other := e.p.add(rotName(t, ledger.Rotation{Repositories: []string{"acme-web/x"}, SecretName: "API_TOKEN"}.DefaultPrefix(), old), old)
			longer := e.p.add(rotName(t, prefix+"-X", old), old)
			upper := e.p.add(rotName(t, strings.ToUpper(prefix), old), old)
			legacy := e.p.add(prefix+"-20261101T000000Z", old) // no nonce

			first, err := Run(context.Background(), e.config(t, targets))
			if err != nil {
				t.Fatalf("first Run: %v", err)
			}
			e.clock.Set(t0.Add(time.Hour))
			cfg := e.config(t, targets)
			cfg.Grace = tc.grace
			second, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatalf("second Run: %v", err)
			}
			if !strings.HasPrefix(second.Name, prefix+"-20261123T180000Z-") {
				t.Errorf("second name = %q", second.Name)
			}
			var wantRevoked []string
			if tc.wantRevoked {
				wantRevoked = []string{first.Token.ID}
			}
			if diff := cmp.Diff(wantRevoked, e.p.revoked()); diff != "" {
				t.Errorf("revoked (-want +got):\n%s", diff)
			}
			if len(second.Previous) != 1 || second.Previous[0].Token.ID != first.Token.ID || second.Previous[0].Action != tc.wantAction {
				t.Errorf("previous = %+v", second.Previous)
			}
			for _, id := range []string{manual, other, longer, upper, legacy, second.Token.ID} {
				for _, r := range e.p.revoked() {
					if r == id {
						t.Errorf("revoked %s, which is not an earlier rotation token", id)
					}
				}
			}
			for _, r := range []string{"a", "b"} {
				if s, _ := e.gh.RepoSecret("actions", "acme", r, "API_TOKEN"); s.Value != second.Token.Secret.Reveal() || s.Writes != 2 {
					t.Errorf("acme/%s holds the wrong value after %d writes", r, s.Writes)
				}
			}
		})
	}
}

// TestRun_NewerTokenOfAnotherRotationKept: only tokens strictly older than
// this rotation's timestamp are retired. A token of the same second (two
// rotations started together) may not be in its secrets yet: it is kept.
func TestRun_NewerTokenOfAnotherRotationKept(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	targets := repoTargets(t, e, "a")
	prefix := testPrefix
	newer := e.p.add(rotName(t, prefix, t0.Add(time.Minute)), t0.Add(time.Minute))
	same := e.p.add(rotName(t, prefix, t0), t0)
	older := e.p.add(rotName(t, prefix, t0.Add(-time.Hour)), time.Time{})
	res, err := Run(context.Background(), e.config(t, targets))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if diff := cmp.Diff([]string{older}, e.p.revoked()); diff != "" {
		t.Errorf("revoked (-want +got):\n%s", diff)
	}
	got := map[string]Action{}
	for _, p := range res.Previous {
		got[p.Token.ID] = p.Action
	}
	if diff := cmp.Diff(map[string]Action{newer: KeptNewer, same: KeptNewer, older: Revoked}, got); diff != "" {
		t.Errorf("actions (-want +got):\n%s", diff)
	}
}

// TestRun_TwoRotationsSameSecond: two runs of one rotation in the same
// second, interleaved as mint A, mint B, write A, retire A, write B: A
// must not retire B's token before B has written its secrets.
func TestRun_TwoRotationsSameSecond(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	targets := repoTargets(t, e, "a")
	ca, cb := e.config(t, targets), e.config(t, targets)
	var bTok *provider.Token
	started := make(chan struct{})
	proceed := make(chan struct{})
	cb.OnToken = func(tok *provider.Token) error {
		bTok = tok
		close(started)
		<-proceed // B holds here, minted but not written, while A runs
		return nil
	}
	done := make(chan error, 1)
	go func() { _, err := Run(context.Background(), cb); done <- err }()
	<-started
	resA, err := Run(context.Background(), ca)
	if err != nil {
		t.Fatalf("A: %v", err)
	}
	for _, id := range e.p.revoked() {
		if id == bTok.ID {
			t.Errorf("A revoked B's token before B wrote its secrets")
		}
	}
	close(proceed)
	if err := <-done; err != nil {
		t.Fatalf("B: %v", err)
	}
	if len(resA.Previous) != 1 || resA.Previous[0].Action != KeptNewer {
		t.Errorf("A's previous = %+v, want B's token kept", resA.Previous)
	}
}

// TestRun_TargetsResolvedBeforeMinting: a target whose public key cannot be
// read stops the rotation before anything is minted.
func TestRun_TargetsResolvedBeforeMinting(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	targets := repoTargets(t, e, "a", "b")
	e.gh.Fail(http.MethodGet, "/repos/acme/b/actions/secrets/public-key", http.StatusForbidden)
	cfg := e.config(t, targets)
	res, err := Run(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "nothing was minted") {
		t.Fatalf("Run error = %v, want a failure before minting", err)
	}
	if len(e.p.mints) != 0 || countMethod(e.gh.Methods(), http.MethodPut) != 0 {
		t.Errorf("minted %v / wrote secrets although a target could not be resolved", e.p.mints)
	}
	if res == nil || len(res.Targets) != 2 || res.Targets[1].OK() {
		t.Errorf("targets = %+v, want b reported failed", res)
	}
}

// TestRun_NoTargetHoldsToken: when every write fails, OnWritten reports 0
// and the error says the token is revoked in the post step.
func TestRun_NoTargetHoldsToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	targets := repoTargets(t, e, "a")
	e.gh.Fail(http.MethodPut, "/repos/acme/a/actions/secrets/API_TOKEN", http.StatusForbidden)
	cfg := e.config(t, targets)
	written := -1
	cfg.OnWritten = func(n int) { written = n }
	res, err := Run(context.Background(), cfg)
	if !errors.Is(err, ErrTargetsFailed) || !strings.Contains(err.Error(), "revoked in the post step") {
		t.Fatalf("Run error = %v", err)
	}
	if written != 0 || res.Token == nil {
		t.Errorf("OnWritten(%d), token %v; want 0 and the token reported", written, res.Token)
	}
}

func TestRun_PartialFailureKeepsEverything(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	targets := repoTargets(t, e, "a", "b", "c")
	first, err := Run(context.Background(), e.config(t, targets))
	if err != nil {
		t.Fatalf("first Run: %v", err)
	}
	e.clock.Set(t0.Add(24 * time.Hour))
	e.gh.Fail(http.MethodPut, "/repos/acme/b/actions/secrets/API_TOKEN", http.StatusForbidden)
	listsBefore := strings.Count(strings.Join(e.p.calls, ","), "list")
	second, err := Run(context.Background(), e.config(t, targets))
	if !errors.Is(err, ErrTargetsFailed) {
		t.Fatalf("second Run error = %v, want ErrTargetsFailed", err)
	}
	noLeak(t, err, first.Token.Secret.Reveal(), second.Token.Secret.Reveal())
	if len(e.p.revoked()) != 0 {
		t.Errorf("revoked %v after a failed target", e.p.revoked())
	}
	if got := strings.Count(strings.Join(e.p.calls, ","), "list"); got != listsBefore {
		t.Errorf("listed tokens after a failed target")
	}
	var got []string
	for _, r := range second.Targets {
		got = append(got, fmt.Sprintf("%s %s %d", r.Label, r.Status, r.HTTPStatus))
	}
	want := []string{"actions repo acme/a updated 204", "actions repo acme/b failed 403", "actions repo acme/c updated 204"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("targets (-want +got):\n%s", diff)
	}
	holds := map[string]string{}
	for _, r := range []string{"a", "b", "c"} {
		s, _ := e.gh.RepoSecret("actions", "acme", r, "API_TOKEN")
		switch s.Value {
		case first.Token.Secret.Reveal():
			holds[r] = "old"
		case second.Token.Secret.Reveal():
			holds[r] = "new"
		default:
			holds[r] = "?"
		}
	}
	if diff := cmp.Diff(map[string]string{"a": "new", "b": "old", "c": "new"}, holds); diff != "" {
		t.Errorf("secrets (-want +got):\n%s", diff)
	}
	if second.Token == nil || second.Written() != 2 {
		t.Errorf("the new token must be kept and reported: %+v", second)
	}
}

func TestRun_RateLimitsHandled(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		fault fake.Fault
		want  time.Duration
	}{
		{name: "429_retry_after", fault: ghsecrets.TooManyRequests(30), want: 30 * time.Second},
		{name: "403_secondary_retry_after", fault: ghsecrets.SecondaryRateLimit(90), want: 90 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			targets := repoTargets(t, e, "a", "b")
			e.gh.Push(ghsecrets.RouteRepoSecret, tc.fault)
			res, err := Run(context.Background(), e.config(t, targets))
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if diff := cmp.Diff([]time.Duration{tc.want}, e.waits.Waits()); diff != "" {
				t.Errorf("waits (-want +got):\n%s", diff)
			}
			for _, r := range []string{"a", "b"} {
				if s, _ := e.gh.RepoSecret("actions", "acme", r, "API_TOKEN"); s.Value != res.Token.Secret.Reveal() {
					t.Errorf("acme/%s does not hold the new token", r)
				}
			}
			if got := e.gh.Count(ghsecrets.RouteRepoSecret); got != 3 {
				t.Errorf("PUTs = %d, want 3 (2 + 1 retry)", got)
			}
		})
	}
}

func TestRun_DryRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	targets := repoTargets(t, e, "a")
	e.gh.AddRepo("acme", "web")
	ts, err := ghsecret.BuildTargets(ghsecret.TargetOptions{SecretName: "API_TOKEN", Org: "acme", Visibility: "selected", SelectedRepositories: []string{"web"}})
	if err != nil {
		t.Fatal(err)
	}
	targets = append(targets, ts...)
	old := e.p.add(rotName(t, testPrefix, t0.Add(-time.Hour)), t0.Add(-time.Hour))
	cfg := e.config(t, targets)
	cfg.DryRun = true
	cfg.OnToken = func(*provider.Token) error { t.Error("OnToken called in a dry run"); return nil }
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	for _, m := range e.gh.Methods() {
		if m != http.MethodGet {
			t.Errorf("dry run sent %s to GitHub", m)
		}
	}
	if e.gh.Total() != 3 {
		t.Errorf("dry run sent %d requests, want 3 (2 keys, 1 repository ID)", e.gh.Total())
	}
	if len(e.p.mints) != 0 || len(e.p.revoked()) != 0 || len(e.gh.Secrets()) != 0 {
		t.Errorf("dry run minted %v, revoked %v, stored %d secrets", e.p.mints, e.p.revoked(), len(e.gh.Secrets()))
	}
	if res.Token != nil || res.Name != cfg.Ledger.Name(1) {
		t.Errorf("plan: token %v, name %q", res.Token, res.Name)
	}
	if diff := cmp.Diff([]ghsecret.Status{ghsecret.StatusPlanned, ghsecret.StatusPlanned}, []ghsecret.Status{res.Targets[0].Status, res.Targets[1].Status}); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if len(res.Previous) != 1 || res.Previous[0].Token.ID != old || res.Previous[0].Action != WouldRevoke {
		t.Errorf("previous = %+v", res.Previous)
	}
}

func TestRun_HookFailureRevokesNewToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	targets := repoTargets(t, e, "a")
	cfg := e.config(t, targets)
	cfg.OnToken = func(*provider.Token) error { return errors.New("mask failed") }
	res, err := Run(context.Background(), cfg)
	if err == nil {
		t.Fatal("Run succeeded")
	}
	if diff := cmp.Diff([]string{res.Token.ID}, e.p.revoked()); diff != "" {
		t.Errorf("revoked (-want +got):\n%s", diff)
	}
	if n := countMethod(e.gh.Methods(), http.MethodPut); n != 0 {
		t.Errorf("GitHub saw %d writes", n)
	}
}

func TestRun_ProviderWithoutListing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	targets := repoTargets(t, e, "a")
	cfg := e.config(t, targets)
	cfg.Provider = listless{e.p}
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(res.Warnings) != 1 || res.Written() != 1 {
		t.Errorf("warnings %v, written %d", res.Warnings, res.Written())
	}
}

func TestRun_Checks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cases := []struct {
		name   string
		mutate func(*Config)
	}{
		{name: "no_targets", mutate: func(c *Config) { c.Targets = nil }},
		{name: "no_ledger", mutate: func(c *Config) { c.Ledger = nil }},
		{name: "negative_grace", mutate: func(c *Config) { c.Grace = -time.Second }},
		{name: "no_writer", mutate: func(c *Config) { c.Writer = nil }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := e.config(t, []ghsecret.Target{{Name: "T", Type: ghsecret.Actions, Scope: ghsecret.ScopeRepository, Repo: ghsecret.Repo{Owner: "acme", Name: "a"}}})
			tc.mutate(&cfg)
			if _, err := Run(context.Background(), cfg); err == nil {
				t.Error("Run accepted a bad config")
			}
		})
	}
	if len(e.p.mints) != 0 {
		t.Errorf("minted with a bad config")
	}
}

func TestRunNative(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	targets := repoTargets(t, e, "a", "b")
	id := e.p.add("long-lived", t0.Add(-24*time.Hour))
	res, err := RunNative(context.Background(), e.config(t, targets), id)
	if err != nil {
		t.Fatalf("RunNative: %v", err)
	}
	if res.Token.ID != id || !res.Native {
		t.Errorf("token %s, native %v", res.Token.ID, res.Native)
	}
	for _, r := range []string{"a", "b"} {
		if s, _ := e.gh.RepoSecret("actions", "acme", r, "API_TOKEN"); s.Value != res.Token.Secret.Reveal() {
			t.Errorf("acme/%s does not hold the rotated secret", r)
		}
	}
	if diff := cmp.Diff([]string{"rotate"}, e.p.calls); diff != "" {
		t.Errorf("provider calls (-want +got):\n%s", diff)
	}
}

func TestRunNative_DryRunAndUnsupported(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	targets := repoTargets(t, e, "a")
	cfg := e.config(t, targets)
	cfg.DryRun = true
	res, err := RunNative(context.Background(), cfg, "tok_1")
	if err != nil || res.Targets[0].Status != ghsecret.StatusPlanned {
		t.Fatalf("dry RunNative = %+v, %v", res, err)
	}
	if len(e.p.calls) != 0 {
		t.Errorf("dry run called the provider: %v", e.p.calls)
	}
	for _, m := range e.gh.Methods() {
		if m != http.MethodGet {
			t.Errorf("dry run sent %s", m)
		}
	}
	cfg.DryRun = false
	cfg.Provider = listless{e.p}
	if _, err := RunNative(context.Background(), cfg, "tok_1"); !errors.Is(err, ErrNoNativeRotation) {
		t.Errorf("RunNative without Rotator = %v", err)
	}
	cfg.Provider = e.p
	if _, err := RunNative(context.Background(), cfg, ""); err == nil {
		t.Errorf("RunNative accepted an empty token ID")
	}
}
