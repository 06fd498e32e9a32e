package ghsecret

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenmint/tokenmint/internal/fake"
	"github.com/tokenmint/tokenmint/internal/fake/ghsecrets"
	"github.com/tokenmint/tokenmint/internal/httpx"
	"github.com/tokenmint/tokenmint/internal/inputerr"
	"github.com/tokenmint/tokenmint/internal/redact"
)

const (
	ghToken = "ghp_FAKEgithubTOKENforTESTS0123456789"
	value   = "tok_live_rotatedSECRETvalue0123456789"
)

var epoch = time.Date(2026, 11, 23, 17, 0, 0, 0, time.UTC)

type env struct {
	fake  *ghsecrets.Server
	url   string
	waits *fake.Clock // records waits; the writer reads time from epoch
}

func newEnv(t *testing.T) *env {
	t.Helper()
	f := ghsecrets.New(ghToken)
	mux := http.NewServeMux()
	f.Register(mux)
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return &env{fake: f, url: ts.URL, waits: fake.NewClock(epoch)}
}

func (e *env) writer(t *testing.T, opts ...Option) *Writer {
	t.Helper()
	base := []Option{WithPause(0), WithWait(e.waits.Sleep), WithClock(func() time.Time { return epoch })}
	w, err := New(redact.Secret(ghToken), e.url, append(base, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return w
}

func statuses(rs []Result) []Status {
	var out []Status
	for _, r := range rs {
		out = append(out, r.Status)
	}
	return out
}

func checkNoLeak(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range []string{ghToken, value} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error leaks a secret: %q", err)
		}
	}
}

// TestWriter_Write_GHES: every target kind GHES has (no Codespaces),
// under a GHES base, checked against the GHES description.
func TestWriter_Write_GHES(t *testing.T) {
	t.Parallel()
	f := ghsecrets.NewGHES(ghToken)
	ts := httptest.NewServer(f)
	t.Cleanup(ts.Close)
	for _, r := range []string{"a", "web"} {
		f.AddRepo("acme", r)
	}
	targets := []Target{
		{Name: "TOK", Type: Actions, Scope: ScopeRepository, Repo: Repo{"acme", "a"}},
		{Name: "TOK", Type: Actions, Scope: ScopeEnvironment, Repo: Repo{"acme", "web"}, Environment: "prod"},
		{Name: "TOK", Type: Actions, Scope: ScopeOrganization, Org: "acme", Visibility: VisibilitySelected, SelectedRepos: []Repo{{"acme", "web"}}},
		{Name: "TOK", Type: Dependabot, Scope: ScopeRepository, Repo: Repo{"acme", "a"}},
		{Name: "TOK", Type: Dependabot, Scope: ScopeOrganization, Org: "acme", Visibility: VisibilitySelected, SelectedRepos: []Repo{{"acme", "a"}, {"acme", "web"}}},
	}
	w, err := New(redact.Secret(ghToken), ts.URL+ghsecrets.GHESPrefix, WithPause(0), WithClock(func() time.Time { return epoch }))
	if err != nil {
		t.Fatal(err)
	}
	res, err := w.Write(context.Background(), targets, value)
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	if diff := cmp.Diff([]Status{StatusCreated, StatusCreated, StatusCreated, StatusCreated, StatusCreated}, statuses(res)); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if s, ok := f.OrgSecret("dependabot", "acme", "TOK"); !ok || len(s.SelectedRepositoryIDs) != 2 || s.Value != value {
		t.Errorf("Dependabot org secret = %+v", s)
	}
}

func TestWriter_Write_AllTargetKinds(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, r := range []string{"a", "b", "c", "web", "api"} {
		e.fake.AddRepo("acme", r)
	}
	targets := []Target{
		{Name: "TOK", Type: Actions, Scope: ScopeRepository, Repo: Repo{"acme", "a"}},
		{Name: "TOK", Type: Actions, Scope: ScopeRepository, Repo: Repo{"acme", "b"}},
		{Name: "tok", Type: Actions, Scope: ScopeEnvironment, Repo: Repo{"acme", "web"}, Environment: "prod / eu"},
		{Name: "TOK", Type: Actions, Scope: ScopeOrganization, Org: "acme", Visibility: VisibilitySelected, SelectedRepos: []Repo{{"acme", "web"}, {"acme", "api"}}},
		{Name: "TOK", Type: Dependabot, Scope: ScopeOrganization, Org: "acme", Visibility: VisibilitySelected, SelectedRepos: []Repo{{"acme", "web"}}},
		{Name: "TOK", Type: Codespaces, Scope: ScopeRepository, Repo: Repo{"acme", "c"}},
		{Name: "TOK", Type: Dependabot, Scope: ScopeRepository, Repo: Repo{"acme", "c"}},
		{Name: "TOK", Type: Codespaces, Scope: ScopeOrganization, Org: "acme", Visibility: VisibilityAll},
	}
	w := e.writer(t)
	res, err := w.Write(context.Background(), targets, value)
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	want := []Status{StatusCreated, StatusCreated, StatusCreated, StatusCreated, StatusCreated, StatusCreated, StatusCreated, StatusCreated}
	if diff := cmp.Diff(want, statuses(res)); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	webID, _ := e.fake.RepoID("acme", "web")
	apiID, _ := e.fake.RepoID("acme", "api")
	type got struct {
		Value      string
		Visibility string
		IDs        []int64
	}
	read := func(s ghsecrets.Secret, ok bool) got {
		if !ok {
			return got{}
		}
		return got{s.Value, s.Visibility, s.SelectedRepositoryIDs}
	}
	gotSecrets := []got{
		read(e.fake.RepoSecret("actions", "acme", "a", "TOK")),
		read(e.fake.RepoSecret("actions", "acme", "b", "TOK")),
		read(e.fake.EnvSecret("acme", "web", "prod / eu", "TOK")),
		read(e.fake.OrgSecret("actions", "acme", "TOK")),
		read(e.fake.OrgSecret("dependabot", "acme", "TOK")),
		read(e.fake.RepoSecret("codespaces", "acme", "c", "TOK")),
		read(e.fake.RepoSecret("dependabot", "acme", "c", "TOK")),
		read(e.fake.OrgSecret("codespaces", "acme", "TOK")),
	}
	wantSecrets := []got{
		{value, "", nil}, {value, "", nil}, {value, "", nil},
		{value, "selected", []int64{webID, apiID}},
		{value, "selected", []int64{webID}},
		{value, "", nil}, {value, "", nil},
		{value, "all", nil},
	}
	if diff := cmp.Diff(wantSecrets, gotSecrets); diff != "" {
		t.Errorf("stored secrets (-want +got):\n%s", diff)
	}
	// Floor: one key read and one PUT per target, one ID lookup per
	// distinct selected repository (web is resolved once).
	if diff := cmp.Diff(Requests{Total: 8 + 8 + 2, Reads: 8 + 2, Writes: 8}, w.Requests()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	if got := e.fake.Total(); got != 18 {
		t.Errorf("fake saw %d requests, want 18", got)
	}

	// A second write on the same Writer reuses the keys: PUTs only, all updates.
	res, err = w.Write(context.Background(), targets[:3], value+"2")
	if err != nil {
		t.Fatalf("second Write: %v", err)
	}
	if diff := cmp.Diff([]Status{StatusUpdated, StatusUpdated, StatusUpdated}, statuses(res)); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if got := e.fake.Count(ghsecrets.RouteRepoKey) + e.fake.Count(ghsecrets.RouteEnvKey); got != 5 {
		t.Errorf("key reads = %d, want 5 (cached per key path)", got)
	}
	if s, _ := e.fake.EnvSecret("acme", "web", "prod / eu", "TOK"); s.Value != value+"2" || s.Writes != 2 {
		t.Errorf("env secret = %q after %d writes", s.Value, s.Writes)
	}
}

func TestWriter_Write_RateLimits(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		route string
		fault func() []ghsecretsFault
		want  []time.Duration
	}{
		{name: "secondary_403_retry_after", route: ghsecrets.RouteRepoSecret, fault: func() []ghsecretsFault { return []ghsecretsFault{ghsecrets.SecondaryRateLimit(61)} }, want: []time.Duration{61 * time.Second}},
		{name: "429_retry_after", route: ghsecrets.RouteRepoSecret, fault: func() []ghsecretsFault { return []ghsecretsFault{ghsecrets.TooManyRequests(7)} }, want: []time.Duration{7 * time.Second}},
		{name: "429_on_key_read", route: ghsecrets.RouteRepoKey, fault: func() []ghsecretsFault {
			return []ghsecretsFault{ghsecrets.TooManyRequests(3), ghsecrets.TooManyRequests(4)}
		}, want: []time.Duration{3 * time.Second, 4 * time.Second}},
		{name: "primary_403_reset", route: ghsecrets.RouteRepoSecret, fault: func() []ghsecretsFault {
			return []ghsecretsFault{ghsecrets.PrimaryRateLimit(epoch.Add(90 * time.Second))}
		}, want: []time.Duration{91 * time.Second}},
		{name: "429_without_hint_backs_off_a_minute", route: ghsecrets.RouteRepoSecret, fault: func() []ghsecretsFault {
			return []ghsecretsFault{{Status: http.StatusTooManyRequests, Body: `{"message":"slow down"}`}}
		}, want: []time.Duration{time.Minute}},
		{name: "secondary_without_hint_backs_off_a_minute", route: ghsecrets.RouteRepoSecret, fault: func() []ghsecretsFault {
			f := ghsecrets.SecondaryRateLimit(1)
			f.Header = nil
			return []ghsecretsFault{f}
		}, want: []time.Duration{time.Minute}},
		{name: "server_error_on_key_read", route: ghsecrets.RouteRepoKey, fault: func() []ghsecretsFault { return []ghsecretsFault{ghsecrets.ServerError()} }, want: []time.Duration{2 * time.Second}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.fake.AddRepo("acme", "a")
			e.fake.AddRepo("acme", "b")
			e.fake.Push(tc.route, tc.fault()...)
			w := e.writer(t)
			targets := []Target{
				{Name: "TOK", Type: Actions, Scope: ScopeRepository, Repo: Repo{"acme", "a"}},
				{Name: "TOK", Type: Actions, Scope: ScopeRepository, Repo: Repo{"acme", "b"}},
			}
			res, err := w.Write(context.Background(), targets, value)
			if err != nil {
				t.Fatalf("Write: %v", err)
			}
			if diff := cmp.Diff([]Status{StatusCreated, StatusCreated}, statuses(res)); diff != "" {
				t.Errorf("statuses (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.want, e.waits.Waits()); diff != "" {
				t.Errorf("waits (-want +got):\n%s", diff)
			}
			for _, r := range []string{"a", "b"} {
				if s, _ := e.fake.RepoSecret("actions", "acme", r, "TOK"); s.Value != value {
					t.Errorf("acme/%s holds %q", r, s.Value)
				}
			}
			// Exactly one extra request per fault.
			if got, want := w.Requests().Total, int64(4+len(tc.want)); got != want {
				t.Errorf("requests = %d, want %d", got, want)
			}
		})
	}
}

type ghsecretsFault = fake.Fault

func TestWriter_Write_BudgetExhausted(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.fake.AddRepo("acme", "a")
	e.fake.AddRepo("acme", "b")
	e.fake.Push(ghsecrets.RouteRepoSecret, ghsecrets.TooManyRequests(120))
	w := e.writer(t, WithRetryBudget(time.Minute))
	targets := []Target{
		{Name: "TOK", Type: Actions, Scope: ScopeRepository, Repo: Repo{"acme", "a"}},
		{Name: "TOK", Type: Actions, Scope: ScopeRepository, Repo: Repo{"acme", "b"}},
	}
	res, err := w.Write(context.Background(), targets, value)
	if !errors.Is(err, ErrTargetsFailed) || !errors.Is(err, ErrRateLimited) {
		t.Fatalf("Write error = %v, want ErrTargetsFailed and ErrRateLimited", err)
	}
	if diff := cmp.Diff([]Status{StatusFailed, StatusSkipped}, statuses(res)); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if got := httpx.StatusOf(res[0].Err); got != http.StatusTooManyRequests {
		t.Errorf("status of first error = %d, want 429", got)
	}
	if len(e.waits.Waits()) != 0 {
		t.Errorf("waited %v past the budget", e.waits.Waits())
	}
	checkNoLeak(t, err)
}

func TestWriter_Write_OneTargetForbidden(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, r := range []string{"a", "b", "c"} {
		e.fake.AddRepo("acme", r)
	}
	e.fake.Fail(http.MethodPut, "/repos/acme/b/actions/secrets/TOK", http.StatusForbidden)
	var progress []string
	w := e.writer(t, WithProgress(func(r Result) { progress = append(progress, r.Label+" "+string(r.Status)) }))
	targets := []Target{
		{Name: "TOK", Type: Actions, Scope: ScopeRepository, Repo: Repo{"acme", "a"}},
		{Name: "TOK", Type: Actions, Scope: ScopeRepository, Repo: Repo{"acme", "b"}},
		{Name: "TOK", Type: Actions, Scope: ScopeRepository, Repo: Repo{"acme", "c"}},
	}
	res, err := w.Write(context.Background(), targets, value)
	var we *WriteError
	if !errors.As(err, &we) || !errors.Is(err, ErrTargetsFailed) {
		t.Fatalf("Write error = %v, want *WriteError", err)
	}
	if diff := cmp.Diff([]Status{StatusCreated, StatusFailed, StatusCreated}, statuses(res)); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if res[1].HTTPStatus != http.StatusForbidden || httpx.StatusOf(err) != http.StatusForbidden {
		t.Errorf("HTTP status = %d / %d, want 403", res[1].HTTPStatus, httpx.StatusOf(err))
	}
	var te *TargetError
	if !errors.As(res[1].Err, &te) || te.Op != "write the secret" {
		t.Errorf("target error = %#v", res[1].Err)
	}
	wantProgress := []string{"actions repo acme/a created", "actions repo acme/b failed", "actions repo acme/c created"}
	if diff := cmp.Diff(wantProgress, progress); diff != "" {
		t.Errorf("progress (-want +got):\n%s", diff)
	}
	if len(e.waits.Waits()) != 0 {
		t.Errorf("a plain 403 was retried: waits %v", e.waits.Waits())
	}
	checkNoLeak(t, err)
}

func TestWriter_DryRun_OnlyGETs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.fake.AddRepo("acme", "a")
	webID := e.fake.AddRepo("acme", "web")
	w := e.writer(t)
	targets := []Target{
		{Name: "TOK", Type: Actions, Scope: ScopeRepository, Repo: Repo{"acme", "a"}},
		{Name: "TOK", Type: Actions, Scope: ScopeEnvironment, Repo: Repo{"acme", "a"}, Environment: "a/b c"},
		{Name: "TOK", Type: Dependabot, Scope: ScopeOrganization, Org: "acme", Visibility: VisibilitySelected, SelectedRepos: []Repo{{"acme", "web"}}},
		{Name: "TOK", Type: Actions, Scope: ScopeRepository, Repo: Repo{"acme", "missing"}},
	}
	res, err := w.DryRun(context.Background(), targets)
	if !errors.Is(err, ErrTargetsFailed) {
		t.Fatalf("DryRun error = %v, want the missing repository to fail", err)
	}
	if diff := cmp.Diff([]Status{StatusPlanned, StatusPlanned, StatusPlanned, StatusFailed}, statuses(res)); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int64{webID}, res[2].SelectedRepositoryIDs); diff != "" {
		t.Errorf("IDs (-want +got):\n%s", diff)
	}
	if res[0].KeyID == "" || res[1].KeyID == "" || res[0].KeyID == res[1].KeyID {
		t.Errorf("key IDs %q %q: want distinct keys per scope", res[0].KeyID, res[1].KeyID)
	}
	if res[3].HTTPStatus != http.StatusNotFound {
		t.Errorf("missing repository status = %d", res[3].HTTPStatus)
	}
	for _, m := range e.fake.Methods() {
		if m != http.MethodGet {
			t.Errorf("dry run sent %s", m)
		}
	}
	if len(e.fake.Secrets()) != 0 {
		t.Errorf("dry run stored secrets")
	}
}

func TestWriter_Write_PausesBetweenPUTs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, r := range []string{"a", "b", "c"} {
		e.fake.AddRepo("acme", r)
	}
	w := e.writer(t, WithPause(time.Second))
	var targets []Target
	for _, r := range []string{"a", "b", "c"} {
		targets = append(targets, Target{Name: "TOK", Type: Actions, Scope: ScopeRepository, Repo: Repo{"acme", r}})
	}
	if _, err := w.Write(context.Background(), targets, value); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if diff := cmp.Diff([]time.Duration{time.Second, time.Second}, e.waits.Waits()); diff != "" {
		t.Errorf("pauses (-want +got):\n%s", diff)
	}
}

func TestWriter_Write_ValueChecks(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		value redact.Secret
		want  error
	}{
		{name: "too_large", value: redact.Secret(strings.Repeat("x", MaxValueSize+1)), want: ErrValueTooLarge},
		{name: "empty", value: "", want: ErrEmptyValue},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			w := e.writer(t)
			res, err := w.Write(context.Background(), []Target{{Name: "TOK", Type: Actions, Scope: ScopeRepository, Repo: Repo{"acme", "a"}}}, tc.value)
			if !errors.Is(err, tc.want) || len(res) != 1 || res[0].Status != StatusFailed {
				t.Errorf("Write = %v, %v; want %v", statuses(res), err, tc.want)
			}
			if e.fake.Total() != 0 {
				t.Errorf("sent %d requests", e.fake.Total())
			}
		})
	}
}

func TestWriter_Write_ServerTextNeutralized(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /repos/acme/a/actions/secrets/public-key", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"message":"bad\n::stop-commands::x\nyour token ` + ghToken + ` ##[error]boom"}`))
	})
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	w, err := New(ghToken, ts.URL, WithPause(0))
	if err != nil {
		t.Fatal(err)
	}
	_, err = w.Write(context.Background(), []Target{{Name: "TOK", Type: Actions, Scope: ScopeRepository, Repo: Repo{"acme", "a"}}}, value)
	if err == nil {
		t.Fatal("Write succeeded")
	}
	checkNoLeak(t, err)
	msg := err.Error()
	for _, bad := range []string{"\n", "::stop-commands::", "##[error]"} {
		if strings.Contains(msg, bad) {
			t.Errorf("error %q contains %q", msg, bad)
		}
	}
}

func TestWriter_Write_BadCredentials(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.fake.AddRepo("acme", "a")
	w, err := New("ghp_wrong", e.url, WithPause(0))
	if err != nil {
		t.Fatal(err)
	}
	res, err := w.Write(context.Background(), []Target{{Name: "TOK", Type: Actions, Scope: ScopeRepository, Repo: Repo{"acme", "a"}}}, value)
	if httpx.StatusOf(err) != http.StatusUnauthorized || res[0].Status != StatusFailed {
		t.Errorf("Write = %v, %v; want 401", statuses(res), err)
	}
}

func TestNew_Inputs(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		token    redact.Secret
		apiURL   string
		wantBase string
		wantErr  []string
	}{
		{name: "default", token: "t", apiURL: "", wantBase: "https://api.github.com/"},
		{name: "dotcom", token: "t", apiURL: "https://api.github.com", wantBase: "https://api.github.com/"},
		{name: "ghes_api_v3", token: "t", apiURL: "https://ghes.example.com/api/v3", wantBase: "https://ghes.example.com/api/v3/"},
		{name: "ghes_host_only", token: "t", apiURL: "https://ghes.example.com", wantBase: "https://ghes.example.com/api/v3/"},
		{name: "ghe_com", token: "t", apiURL: "https://api.acme.ghe.com", wantBase: "https://api.acme.ghe.com/"},
		{name: "loopback_http", token: "t", apiURL: "http://127.0.0.1:8080", wantBase: "http://127.0.0.1:8080/"},
		{name: "http_remote", token: "t", apiURL: "http://ghes.example.com/api/v3", wantErr: []string{"github-api-url"}},
		{name: "missing_token_and_bad_url", token: "", apiURL: "ftp://x", wantErr: []string{"github-token", "github-api-url"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w, err := New(tc.token, tc.apiURL)
			if tc.wantErr != nil {
				ies, _ := inputerr.List(err)
				var got []string
				for _, ie := range ies {
					got = append(got, ie.Input)
				}
				if diff := cmp.Diff(tc.wantErr, got); diff != "" {
					t.Errorf("errors (-want +got):\n%s", diff)
				}
				return
			}
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			req, err := w.api.raw.NewRequest(http.MethodGet, "repos/o/r", nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.TrimSuffix(req.URL.String(), "repos/o/r"); got != tc.wantBase {
				t.Errorf("base = %q, want %q", got, tc.wantBase)
			}
		})
	}
}

// A success that spends the primary limit makes go-github refuse the next
// request on its own (no request sent); the Writer waits until the reset
// and goes on with a client that forgot the refusal.
func TestWriter_Write_LimitSpentBySuccess(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.fake.AddRepo("acme", "a")
	reset := time.Now().Add(2 * time.Minute).Truncate(time.Second)
	e.fake.Push(ghsecrets.RouteRepoKey, fake.Fault{After: true, Header: map[string]string{
		"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": strconv.FormatInt(reset.Unix(), 10),
	}})
	w := e.writer(t, WithClock(time.Now))
	res, err := w.Write(context.Background(), []Target{{Name: "TOK", Type: Actions, Scope: ScopeRepository, Repo: Repo{"acme", "a"}}}, value)
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	if res[0].Status != StatusCreated {
		t.Errorf("status = %s", res[0].Status)
	}
	ws := e.waits.Waits()
	if len(ws) != 1 || ws[0] < 100*time.Second || ws[0] > 122*time.Second {
		t.Errorf("waits = %v, want one wait until the reset (~2m)", ws)
	}
	if diff := cmp.Diff(Requests{Total: 2, Reads: 1, Writes: 1}, w.Requests()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

// TestWriter_Write_NoTokenOnCrossHostRedirect: oauth2.Transport adds the
// token to every request, redirected ones too, so a redirect to another
// host must not be followed.
func TestWriter_Write_NoTokenOnCrossHostRedirect(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var leaked []string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		leaked = append(leaked, r.Header.Get("Authorization"))
		mu.Unlock()
		w.WriteHeader(http.StatusNotFound)
	}))
	t.Cleanup(other.Close)
	// "localhost" is another host than 127.0.0.1 to the client.
	otherURL := strings.Replace(other.URL, "127.0.0.1", "localhost", 1)
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, otherURL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	t.Cleanup(redirector.Close)
	w, err := New(redact.Secret(ghToken), redirector.URL, WithPause(0), WithWait(fake.NewClock(epoch).Sleep), WithMaxAttempts(1))
	if err != nil {
		t.Fatal(err)
	}
	res, err := w.Write(context.Background(), []Target{{Name: "TOK", Type: Actions, Scope: ScopeRepository, Repo: Repo{"acme", "a"}}}, value)
	if err == nil || res[0].Status != StatusFailed {
		t.Errorf("Write through a cross-host redirect succeeded: %v", statuses(res))
	}
	mu.Lock()
	defer mu.Unlock()
	if len(leaked) != 0 {
		t.Errorf("the other host received %d request(s) (Authorization sent: %v)", len(leaked), leaked[0] != "")
	}
	checkNoLeak(t, err)
}
