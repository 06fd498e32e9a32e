package ghsecret

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/go-github/v60/github"
	"golang.org/x/crypto/nacl/box"
	"golang.org/x/oauth2"

	"github.com/tokenmint/tokenmint/internal/httpx"
	"github.com/tokenmint/tokenmint/internal/inputerr"
	"github.com/tokenmint/tokenmint/internal/redact"
)

// Defaults.
const (
	DefaultAPIURL      = "https://api.github.com"
	DefaultPause       = time.Second      // GitHub asks for ≥ 1 s between mutating requests
	DefaultMinBackoff  = time.Minute      // rate limited without a hint: wait at least this
	DefaultRetryBudget = 5 * time.Minute  // all rate-limit and retry waits of one Writer together
	DefaultMaxAttempts = 5                // per request, first try included
	transientBackoff   = 2 * time.Second  // 5xx and network errors
	service            = "GitHub API"     // names the service in errors
	maxRetryAfter      = 15 * time.Minute // a hint longer than this is not waited for
)

// Sentinel errors (match with errors.Is).
var (
	// ErrTargetsFailed is matched by the error of Write or DryRun when at
	// least one target failed.
	ErrTargetsFailed = errors.New("secret targets failed")
	// ErrRateLimited: GitHub kept answering with a rate limit until the
	// retry budget or the attempts ran out.
	ErrRateLimited = errors.New("GitHub rate limit")
	// ErrValueTooLarge: the value exceeds MaxValueSize.
	ErrValueTooLarge = errors.New("secret value exceeds GitHub's 48 KB limit")
	// ErrEmptyValue: there is nothing to write.
	ErrEmptyValue = errors.New("secret value is empty")
	// ErrBadPublicKey: GitHub answered with a key that is not a base64
	// Curve25519 public key.
	ErrBadPublicKey = errors.New("malformed public key")
)

// The go-github surface this package uses, narrow so tests can fake it.

// secretsAPI is the Actions and Codespaces secrets service (same shapes).
type secretsAPI interface {
	GetRepoPublicKey(ctx context.Context, owner, repo string) (*github.PublicKey, *github.Response, error)
	GetOrgPublicKey(ctx context.Context, org string) (*github.PublicKey, *github.Response, error)
	CreateOrUpdateRepoSecret(ctx context.Context, owner, repo string, s *github.EncryptedSecret) (*github.Response, error)
	CreateOrUpdateOrgSecret(ctx context.Context, org string, s *github.EncryptedSecret) (*github.Response, error)
}

type dependabotSecretsAPI interface {
	GetRepoPublicKey(ctx context.Context, owner, repo string) (*github.PublicKey, *github.Response, error)
	GetOrgPublicKey(ctx context.Context, org string) (*github.PublicKey, *github.Response, error)
	CreateOrUpdateRepoSecret(ctx context.Context, owner, repo string, s *github.DependabotEncryptedSecret) (*github.Response, error)
	CreateOrUpdateOrgSecret(ctx context.Context, org string, s *github.DependabotEncryptedSecret) (*github.Response, error)
}

type reposAPI interface {
	Get(ctx context.Context, owner, repo string) (*github.Repository, *github.Response, error)
}

// rawAPI builds requests go-github has no (current) method for:
// environment secrets live under /repos/{o}/{r}/environments/{env}/secrets.
type rawAPI interface {
	NewRequest(method, urlStr string, body interface{}, opts ...github.RequestOption) (*http.Request, error)
	Do(ctx context.Context, req *http.Request, v interface{}) (*github.Response, error)
}

var (
	_ secretsAPI           = (*github.ActionsService)(nil)
	_ secretsAPI           = (*github.CodespacesService)(nil)
	_ dependabotSecretsAPI = (*github.DependabotService)(nil)
	_ reposAPI             = (*github.RepositoriesService)(nil)
	_ rawAPI               = (*github.Client)(nil)
)

type apis struct {
	actions    secretsAPI
	codespaces secretsAPI
	dependabot dependabotSecretsAPI
	repos      reposAPI
	raw        rawAPI
}

func fromClient(c *github.Client) apis {
	return apis{actions: c.Actions, codespaces: c.Codespaces, dependabot: c.Dependabot, repos: c.Repositories, raw: c}
}

// Status is the outcome of one target.
type Status string

// Statuses.
const (
	StatusCreated Status = "created" // PUT answered 201
	StatusUpdated Status = "updated" // PUT answered 204
	StatusPlanned Status = "planned" // dry run: key and repository IDs resolved
	StatusFailed  Status = "failed"
	StatusSkipped Status = "skipped" // not attempted: the run was cancelled or the rate-limit budget ran out
)

// Result is what happened to one target.
type Result struct {
	Target     Target
	Label      string // Target.Label()
	Status     Status
	HTTPStatus int    // status of the last request for this target (0: none)
	KeyID      string // the public key used (or that would be used)
	// SelectedRepositoryIDs are the resolved IDs of Target.SelectedRepos.
	SelectedRepositoryIDs []int64
	// Err is set for failed and skipped targets: a *TargetError. It never
	// holds the value or the GitHub token; server text is neutralized.
	Err error
}

// OK reports a written (or, in a dry run, resolvable) target.
func (r Result) OK() bool {
	return r.Status == StatusCreated || r.Status == StatusUpdated || r.Status == StatusPlanned
}

// TargetError is a failure of one target.
type TargetError struct {
	Target string // label
	Op     string // what failed: "read the public key", …
	Err    error  // *httpx.APIError, *httpx.TransportError, or a sentinel
}

func (e *TargetError) Error() string {
	return fmt.Sprintf("failed to %s for %s: %v", e.Op, e.Target, e.Err)
}

func (e *TargetError) Unwrap() error { return e.Err }

// WriteError is returned by Write and DryRun when targets failed. It
// matches ErrTargetsFailed and unwraps to each target's error.
type WriteError struct {
	Total  int
	Failed []Result
	DryRun bool
}

func (e *WriteError) Error() string {
	verb := "write"
	if e.DryRun {
		verb = "resolve"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "failed to %s %d of %d secret targets", verb, len(e.Failed), e.Total)
	for i, r := range e.Failed {
		if i == 3 {
			fmt.Fprintf(&b, "; and %d more", len(e.Failed)-3)
			break
		}
		sep := ": "
		if i > 0 {
			sep = "; "
		}
		b.WriteString(sep)
		if r.Err != nil {
			b.WriteString(r.Err.Error())
		} else {
			b.WriteString(r.Label)
		}
	}
	return b.String()
}

// Is matches ErrTargetsFailed.
func (e *WriteError) Is(target error) bool { return target == ErrTargetsFailed }

// Unwrap returns the targets' errors.
func (e *WriteError) Unwrap() []error {
	out := make([]error, 0, len(e.Failed))
	for _, r := range e.Failed {
		if r.Err != nil {
			out = append(out, r.Err)
		}
	}
	return out
}

// Requests counts the HTTP requests a Writer sent (every attempt).
type Requests struct {
	Total  int64
	Reads  int64 // GET
	Writes int64 // PUT and other mutating methods
}

type counter struct{ reads, writes atomic.Int64 }

type countingTransport struct {
	base http.RoundTripper
	n    *counter
}

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		t.n.reads.Add(1)
	} else {
		t.n.writes.Add(1)
	}
	return t.base.RoundTrip(r)
}

// Option configures a Writer.
type Option func(*Writer)

// WithHTTP takes the transport (proxies, TLS roots), the per-request
// timeout and the masker from an httpx.Client.
func WithHTTP(c *httpx.Client) Option { return func(w *Writer) { w.http = c } }

// WithPause sets the pause between mutating requests (default 1 s; 0 in tests).
func WithPause(d time.Duration) Option { return func(w *Writer) { w.pause = d } }

// WithWait replaces the sleeper used for pauses and rate-limit waits
// (tests record instead of sleeping).
func WithWait(f func(ctx context.Context, d time.Duration) error) Option {
	return func(w *Writer) { w.wait = f }
}

// WithClock replaces time.Now (reset headers are read against it).
func WithClock(now func() time.Time) Option { return func(w *Writer) { w.now = now } }

// WithRetryBudget bounds the total of rate-limit and retry waits of the Writer.
func WithRetryBudget(d time.Duration) Option { return func(w *Writer) { w.budget = d } }

// WithMinBackoff sets the wait after a rate limit that gave no hint (default 1 min).
func WithMinBackoff(d time.Duration) Option { return func(w *Writer) { w.minBackoff = d } }

// WithMaxAttempts bounds attempts per request (first included).
func WithMaxAttempts(n int) Option { return func(w *Writer) { w.maxAttempts = n } }

// WithLogf reports waits ("GitHub rate limit: waiting 1m0s").
func WithLogf(f func(format string, args ...any)) Option { return func(w *Writer) { w.logf = f } }

// WithProgress is called after each target (a progress line per target).
func WithProgress(f func(Result)) Option { return func(w *Writer) { w.progress = f } }

// Writer writes secrets to GitHub. It is meant for one run (keys and
// repository IDs are cached for its lifetime) and is not safe for
// concurrent use: writes are serial by design.
type Writer struct {
	http        *httpx.Client
	pause       time.Duration
	wait        func(ctx context.Context, d time.Duration) error
	now         func() time.Time
	budget      time.Duration
	minBackoff  time.Duration
	maxAttempts int
	logf        func(format string, args ...any)
	progress    func(Result)

	timeout time.Duration
	newAPIs func() apis
	api     apis
	masker  *redact.Masker
	count   *counter
	keys    map[string]*github.PublicKey
	repoIDs map[string]int64
	lastPut time.Time
	didPut  bool
	waited  time.Duration
}

// New returns a Writer authenticated with token against apiURL (""
// means https://api.github.com; GHES bases such as
// https://ghes.example.com/api/v3 are accepted). Input problems are
// *inputerr.Error values for github-token and github-api-url.
func New(token redact.Secret, apiURL string, opts ...Option) (*Writer, error) {
	w := &Writer{
		pause:       DefaultPause,
		wait:        httpx.Sleep,
		now:         time.Now,
		budget:      DefaultRetryBudget,
		minBackoff:  DefaultMinBackoff,
		maxAttempts: DefaultMaxAttempts,
		masker:      redact.NewMasker(),
		count:       &counter{},
		keys:        map[string]*github.PublicKey{},
		repoIDs:     map[string]int64{},
	}
	for _, o := range opts {
		o(w)
	}
	var errs []error
	if token.Empty() {
		errs = append(errs, inputerr.New("github-token", "is required to write secrets (a fine-grained PAT or GitHub App token; GITHUB_TOKEN cannot write secrets)"))
	}
	base, upload, err := baseURLs(apiURL)
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	w.masker.Add(token.Reveal())

	var transport http.RoundTripper
	w.timeout = httpx.DefaultTimeout
	if w.http != nil {
		transport = w.http.HTTPClient().Transport
		if t := w.http.Timeout(); t > 0 {
			w.timeout = t
		}
	}
	if transport == nil {
		transport = httpx.NewTransport()
	}
	hc := &http.Client{
		Transport: &oauth2.Transport{
			Source: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: token.Reveal(), TokenType: "Bearer"}),
			Base:   &countingTransport{base: transport, n: w.count},
		},
		// oauth2.Transport adds the token to redirected requests too:
		// never follow a redirect to another host.
		CheckRedirect: httpx.SameHostRedirects,
	}
	w.newAPIs = func() apis {
		c := github.NewClient(hc)
		b, u := *base, *upload
		c.BaseURL, c.UploadURL = &b, &u
		c.UserAgent = "tokenmint/" + httpx.Version
		return fromClient(c)
	}
	w.api = w.newAPIs()
	return w, nil
}

// baseURLs turns github-api-url into go-github's base and upload URLs.
func baseURLs(apiURL string) (*url.URL, *url.URL, error) {
	apiURL = strings.TrimSpace(apiURL)
	if apiURL == "" {
		apiURL = DefaultAPIURL
	}
	bad := inputerr.New("github-api-url", "must be an https:// URL such as https://api.github.com or https://ghes.example.com/api/v3 (http:// only for loopback hosts)")
	u, err := httpx.GitHubAPIBase(apiURL)
	if err != nil {
		return nil, nil, bad
	}
	// go-github wants a trailing slash; uploads are not used.
	u.Path += "/"
	if u.RawPath != "" {
		u.RawPath += "/"
	}
	return u, u, nil
}

// Requests returns how many HTTP requests the Writer has sent.
func (w *Writer) Requests() Requests {
	r, wr := w.count.reads.Load(), w.count.writes.Load()
	return Requests{Total: r + wr, Reads: r, Writes: wr}
}

// Waited is the total time spent waiting on rate limits and retries
// (pauses between writes not included).
func (w *Writer) Waited() time.Duration { return w.waited }

// Write seals value with each target's public key and writes it, one
// target after another. It writes every target it can: a target's
// failure does not stop the others (a cancelled context or a spent
// rate-limit budget does: the rest are skipped). The results are in
// target order; the error is a *WriteError when any target failed.
func (w *Writer) Write(ctx context.Context, targets []Target, value redact.Secret) ([]Result, error) {
	v := value.Reveal()
	var pre error
	switch {
	case v == "":
		pre = ErrEmptyValue
	case len(v) > MaxValueSize:
		pre = ErrValueTooLarge
	}
	if pre != nil {
		results := make([]Result, len(targets))
		for i, t := range targets {
			results[i] = Result{Target: t, Label: t.Label(), Status: StatusFailed, Err: &TargetError{Target: t.Label(), Op: "check the value", Err: pre}}
		}
		return results, w.summarize(results, false)
	}
	w.masker.Add(v)
	return w.run(ctx, targets, []byte(v), false)
}

// DryRun resolves what Write would need (public keys and repository IDs,
// with GET requests only) and returns the plan; it writes nothing.
func (w *Writer) DryRun(ctx context.Context, targets []Target) ([]Result, error) {
	return w.run(ctx, targets, nil, true)
}

func (w *Writer) run(ctx context.Context, targets []Target, value []byte, dry bool) ([]Result, error) {
	results := make([]Result, 0, len(targets))
	var stop error
	for _, t := range targets {
		var r Result
		if stop == nil {
			if err := ctx.Err(); err != nil {
				stop = err
			}
		}
		if stop != nil {
			r = Result{Target: t, Label: t.Label(), Status: StatusSkipped, Err: &TargetError{Target: t.Label(), Op: "start", Err: stop}}
		} else {
			r = w.one(ctx, t, value, dry)
			if r.Err != nil && (errors.Is(r.Err, ErrRateLimited) || ctx.Err() != nil) {
				stop = r.Err
				if ctx.Err() != nil {
					stop = ctx.Err()
				}
			}
		}
		results = append(results, r)
		if w.progress != nil {
			w.progress(r)
		}
	}
	return results, w.summarize(results, dry)
}

func (w *Writer) summarize(results []Result, dry bool) error {
	var failed []Result
	for _, r := range results {
		if !r.OK() {
			failed = append(failed, r)
		}
	}
	if len(failed) == 0 {
		return nil
	}
	return &WriteError{Total: len(results), Failed: failed, DryRun: dry}
}

func (w *Writer) one(ctx context.Context, t Target, value []byte, dry bool) Result {
	r := Result{Target: t, Label: t.Label()}
	fail := func(op string, status int, err error) Result {
		r.Status, r.HTTPStatus = StatusFailed, status
		r.Err = &TargetError{Target: r.Label, Op: op, Err: err}
		return r
	}
	if t.Scope == ScopeOrganization && t.Visibility == VisibilitySelected {
		for _, repo := range t.SelectedRepos {
			id, status, err := w.repoID(ctx, repo)
			if err != nil {
				return fail("resolve repository "+repo.String(), status, err)
			}
			r.SelectedRepositoryIDs = append(r.SelectedRepositoryIDs, id)
		}
	}
	pk, status, err := w.publicKey(ctx, t)
	r.HTTPStatus = status
	if err != nil {
		return fail("read the public key", status, err)
	}
	r.KeyID = pk.GetKeyID()
	if dry {
		r.Status = StatusPlanned
		return r
	}
	sealed, err := seal(pk, value)
	if err != nil {
		return fail("seal the value", 0, err)
	}
	status, err = w.put(ctx, t, pk.GetKeyID(), sealed, r.SelectedRepositoryIDs)
	r.HTTPStatus = status
	if err != nil {
		return fail("write the secret", status, err)
	}
	switch status {
	case http.StatusCreated:
		r.Status = StatusCreated
	default:
		r.Status = StatusUpdated
	}
	return r
}

func (w *Writer) repoID(ctx context.Context, repo Repo) (int64, int, error) {
	key := strings.ToLower(repo.String())
	if id, ok := w.repoIDs[key]; ok {
		return id, 0, nil
	}
	var got *github.Repository
	resp, err := w.do(ctx, false, func(ctx context.Context, a apis) (*github.Response, error) {
		r, resp, err := a.repos.Get(ctx, repo.Owner, repo.Name)
		got = r
		return resp, err
	})
	status := statusOf(resp)
	if err != nil {
		return 0, status, err
	}
	if got.GetID() == 0 {
		return 0, status, fmt.Errorf("%w: GitHub returned no repository ID", httpx.ErrUnreadable)
	}
	w.repoIDs[key] = got.GetID()
	return got.GetID(), status, nil
}

func (w *Writer) publicKey(ctx context.Context, t Target) (*github.PublicKey, int, error) {
	path := t.KeyPath()
	if pk, ok := w.keys[path]; ok {
		return pk, 0, nil
	}
	var pk *github.PublicKey
	resp, err := w.do(ctx, false, func(ctx context.Context, a apis) (*github.Response, error) {
		var resp *github.Response
		var err error
		switch {
		case t.Scope == ScopeEnvironment:
			var req *http.Request
			req, err = a.raw.NewRequest(http.MethodGet, path, nil)
			if err != nil {
				return nil, err
			}
			pk = new(github.PublicKey)
			resp, err = a.raw.Do(ctx, req, pk)
		case t.Type == Dependabot && t.Scope == ScopeOrganization:
			pk, resp, err = a.dependabot.GetOrgPublicKey(ctx, t.Org)
		case t.Type == Dependabot:
			pk, resp, err = a.dependabot.GetRepoPublicKey(ctx, t.Repo.Owner, t.Repo.Name)
		case t.Scope == ScopeOrganization:
			pk, resp, err = w.service(a, t.Type).GetOrgPublicKey(ctx, t.Org)
		default:
			pk, resp, err = w.service(a, t.Type).GetRepoPublicKey(ctx, t.Repo.Owner, t.Repo.Name)
		}
		return resp, err
	})
	status := statusOf(resp)
	if err != nil {
		return nil, status, err
	}
	if _, err := keyBytes(pk); err != nil {
		return nil, status, err
	}
	w.keys[path] = pk
	return pk, status, nil
}

func (w *Writer) service(a apis, t Type) secretsAPI {
	if t == Codespaces {
		return a.codespaces
	}
	return a.actions
}

func (w *Writer) put(ctx context.Context, t Target, keyID, sealed string, ids []int64) (int, error) {
	resp, err := w.do(ctx, true, func(ctx context.Context, a apis) (*github.Response, error) {
		switch {
		case t.Scope == ScopeEnvironment:
			req, err := a.raw.NewRequest(http.MethodPut, t.SecretPath(), &github.EncryptedSecret{KeyID: keyID, EncryptedValue: sealed})
			if err != nil {
				return nil, err
			}
			return a.raw.Do(ctx, req, nil)
		case t.Type == Dependabot && t.Scope == ScopeOrganization:
			// go-github v60 sends Dependabot's selected_repository_ids as
			// strings, which only API version 2022-11-28 takes; integers
			// are valid under 2022-11-28 and 2026-03-10 (and GHES).
			body := orgSecretBody{KeyID: keyID, EncryptedValue: sealed, Visibility: string(t.Visibility)}
			if t.Visibility == VisibilitySelected {
				body.SelectedRepositoryIDs = ids
			}
			req, err := a.raw.NewRequest(http.MethodPut, t.SecretPath(), body)
			if err != nil {
				return nil, err
			}
			return a.raw.Do(ctx, req, nil)
		case t.Type == Dependabot:
			s := &github.DependabotEncryptedSecret{Name: t.Name, KeyID: keyID, EncryptedValue: sealed}
			return a.dependabot.CreateOrUpdateRepoSecret(ctx, t.Repo.Owner, t.Repo.Name, s)
		default:
			s := &github.EncryptedSecret{Name: t.Name, KeyID: keyID, EncryptedValue: sealed}
			if t.Scope == ScopeOrganization {
				s.Visibility = string(t.Visibility)
				if t.Visibility == VisibilitySelected {
					s.SelectedRepositoryIDs = github.SelectedRepoIDs(ids)
				}
				return w.service(a, t.Type).CreateOrUpdateOrgSecret(ctx, t.Org, s)
			}
			return w.service(a, t.Type).CreateOrUpdateRepoSecret(ctx, t.Repo.Owner, t.Repo.Name, s)
		}
	})
	return statusOf(resp), err
}

// orgSecretBody is the PUT body of an organization secret, with the
// repository IDs as integers.
type orgSecretBody struct {
	KeyID                 string  `json:"key_id"`
	EncryptedValue        string  `json:"encrypted_value"`
	Visibility            string  `json:"visibility"`
	SelectedRepositoryIDs []int64 `json:"selected_repository_ids,omitempty"`
}

func keyBytes(pk *github.PublicKey) (*[32]byte, error) {
	if pk == nil || pk.GetKeyID() == "" {
		return nil, fmt.Errorf("%w: no key_id", ErrBadPublicKey)
	}
	raw, err := base64.StdEncoding.DecodeString(pk.GetKey())
	if err != nil || len(raw) != 32 {
		return nil, fmt.Errorf("%w: not 32 bytes of base64", ErrBadPublicKey)
	}
	var k [32]byte
	copy(k[:], raw)
	return &k, nil
}

// seal encrypts value for pk as a libsodium sealed box, base64-encoded.
func seal(pk *github.PublicKey, value []byte) (string, error) {
	k, err := keyBytes(pk)
	if err != nil {
		return "", err
	}
	out, err := box.SealAnonymous(nil, value, k, rand.Reader)
	if err != nil {
		return "", fmt.Errorf("failed to seal: %w", err)
	}
	return base64.StdEncoding.EncodeToString(out), nil
}

func statusOf(resp *github.Response) int {
	if resp == nil || resp.Response == nil {
		return 0
	}
	return resp.StatusCode
}

// do runs call, pausing before mutating requests and retrying rate limits
// (403/429), 5xx and network errors inside the retry budget. The error it
// returns is an *httpx.APIError or *httpx.TransportError (wrapping
// ErrRateLimited when the limit outlasted the budget), or a context error.
func (w *Writer) do(ctx context.Context, mutating bool, call func(context.Context, apis) (*github.Response, error)) (*github.Response, error) {
	for attempt := 1; ; attempt++ {
		if mutating && w.didPut && w.pause > 0 {
			if d := w.pause - w.now().Sub(w.lastPut); d > 0 {
				if err := w.wait(ctx, d); err != nil {
					return nil, err
				}
			}
		}
		actx, cancel := context.WithTimeout(ctx, w.timeout)
		resp, err := call(actx, w.api)
		cancel()
		if mutating {
			w.didPut, w.lastPut = true, w.now()
		}
		if err == nil {
			return resp, nil
		}
		if ctx.Err() != nil {
			return resp, ctx.Err()
		}
		d, reason, retry := w.retryWait(resp, err, attempt)
		method := http.MethodGet
		if mutating {
			method = http.MethodPut
		}
		converted := w.convert(resp, err, d, method)
		if !retry {
			return resp, converted
		}
		if reason == "rate limit" {
			converted = fmt.Errorf("%w: %w", ErrRateLimited, converted)
		}
		if attempt >= w.maxAttempts {
			return resp, fmt.Errorf("%w (gave up after %d attempts)", converted, attempt)
		}
		if d > maxRetryAfter || w.waited+d > w.budget {
			return resp, fmt.Errorf("%w (waiting %s more would exceed the retry budget of %s)", converted, d.Round(time.Second), w.budget)
		}
		if w.logf != nil {
			w.logf("GitHub %s (HTTP %d): waiting %s before retrying", reason, statusOf(resp), d.Round(time.Second))
		}
		if err := w.wait(ctx, d); err != nil {
			return resp, err
		}
		w.waited += d
		// go-github refuses requests on its own while it believes a limit
		// holds (judged on the real clock); our wait is authoritative, so
		// start from a client without that memory.
		w.api = w.newAPIs()
	}
}

// retryWait decides whether err is worth another attempt and how long to
// wait first: Retry-After, else X-RateLimit-Remaining 0 → X-RateLimit-Reset,
// else at least minBackoff for rate limits; a short backoff for 5xx and
// network errors.
func (w *Writer) retryWait(resp *github.Response, err error, attempt int) (time.Duration, string, bool) {
	var hr *http.Response
	if resp != nil {
		hr = resp.Response
	}
	backoff := w.minBackoff << (attempt - 1)
	if backoff <= 0 || backoff > 4*w.minBackoff {
		backoff = 4 * w.minBackoff
	}
	var rle *github.RateLimitError
	var are *github.AbuseRateLimitError
	var er *github.ErrorResponse
	switch {
	case errors.As(err, &rle):
		if d, ok := headerWait(hr, w.now()); ok {
			return d, "rate limit", true
		}
		if !rle.Rate.Reset.IsZero() {
			return clampWait(rle.Rate.Reset.Sub(w.now()) + time.Second), "rate limit", true
		}
		return backoff, "rate limit", true
	case errors.As(err, &are):
		if d, ok := headerWait(hr, w.now()); ok {
			return d, "rate limit", true
		}
		if are.RetryAfter != nil {
			return clampWait(*are.RetryAfter), "rate limit", true
		}
		return backoff, "rate limit", true
	case errors.As(err, &er) && er.Response != nil:
		st := er.Response.StatusCode
		limited := st == http.StatusTooManyRequests ||
			(st == http.StatusForbidden && (er.Response.Header.Get("Retry-After") != "" || er.Response.Header.Get("X-RateLimit-Remaining") == "0"))
		if limited {
			if d, ok := headerWait(er.Response, w.now()); ok {
				return d, "rate limit", true
			}
			return backoff, "rate limit", true
		}
		if st >= 500 && attempt < 3 {
			return transientBackoff << (attempt - 1), "server error", true
		}
		return 0, "", false
	}
	var ue *url.Error
	var ne net.Error
	if (errors.As(err, &ue) || errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded)) && attempt < 3 {
		return transientBackoff << (attempt - 1), "network error", true
	}
	return 0, "", false
}

// headerWait reads Retry-After (seconds or HTTP date), else, when
// X-RateLimit-Remaining is 0, X-RateLimit-Reset (Unix seconds).
func headerWait(r *http.Response, now time.Time) (time.Duration, bool) {
	if r == nil {
		return 0, false
	}
	if v := strings.TrimSpace(r.Header.Get("Retry-After")); v != "" {
		var s int64
		if _, err := fmt.Sscanf(v, "%d", &s); err == nil && s >= 0 && fmt.Sprint(s) == v {
			return time.Duration(s) * time.Second, true
		}
		if t, err := http.ParseTime(v); err == nil {
			return clampWait(t.Sub(now)), true
		}
	}
	if r.Header.Get("X-RateLimit-Remaining") == "0" {
		var reset int64
		if _, err := fmt.Sscanf(r.Header.Get("X-RateLimit-Reset"), "%d", &reset); err == nil && reset > 0 {
			return clampWait(time.Unix(reset, 0).Sub(now) + time.Second), true
		}
	}
	return 0, false
}

func clampWait(d time.Duration) time.Duration {
	if d < 0 {
		return 0
	}
	return d
}

// convert turns a go-github error into an *httpx.APIError (statuses) or
// *httpx.TransportError (network), with server text masked and neutralized.
func (w *Writer) convert(resp *github.Response, err error, wait time.Duration, method string) error {
	var hr *http.Response
	if resp != nil {
		hr = resp.Response
	}
	var msg string
	var rle *github.RateLimitError
	var are *github.AbuseRateLimitError
	var er *github.ErrorResponse
	switch {
	case errors.As(err, &rle):
		msg, hr = rle.Message, pick(hr, rle.Response)
	case errors.As(err, &are):
		msg, hr = are.Message, pick(hr, are.Response)
	case errors.As(err, &er):
		msg, hr = er.Message, pick(hr, er.Response)
		for _, e := range er.Errors {
			detail := e.Message
			if detail == "" {
				detail = strings.TrimSpace(e.Field + " " + e.Code)
			}
			if detail != "" {
				msg += " (" + detail + ")"
			}
		}
	}
	if hr == nil {
		var ue *url.Error
		inner := err
		if errors.As(err, &ue) {
			inner = ue.Err
		}
		var ne net.Error
		timeout := errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
		return &httpx.TransportError{Service: service, Method: method, Err: errors.New(w.clean(inner.Error())), Sent: true, Timeout: timeout}
	}
	return &httpx.APIError{
		Service:    service,
		Status:     hr.StatusCode,
		Message:    w.clean(msg),
		RequestID:  w.clean(hr.Header.Get("X-GitHub-Request-Id")),
		RetryAfter: wait,
	}
}

func pick(a, b *http.Response) *http.Response {
	if a != nil {
		return a
	}
	return b
}

func (w *Writer) clean(s string) string {
	s = w.masker.Mask(s)
	if w.http != nil {
		s = w.http.Masker().Mask(s)
	}
	return redact.Neutralize(s)
}
