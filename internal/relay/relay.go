// Package relay is `tokenmint relay`: a small server that receives Tooken
// webhooks, verifies their HMAC signature, freshness and uniqueness, and
// turns the configured events into GitHub repository_dispatch events (for
// example to start a secret-rotation workflow when a token is about to
// expire).
//
// Guarantees:
//   - Nothing is dispatched for a request whose X-Tooken-Signature does not
//     verify under one of the configured secrets (401), whose timestamp is
//     outside the tolerance (401), or that repeats a body, a signature or
//     a delivery id seen within the replay window (409).
//   - A request answered 202 has all of its dispatches queued; the worker
//     pool sends each exactly once per repository (retrying 5xx and rate
//     limits), and Shutdown drains the queue before it returns.
//   - No secret (webhook secrets, GitHub token) is ever logged or sent in a
//     client_payload; server text is masked and neutralized before logging.
package relay

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-github/v60/github"
	"golang.org/x/oauth2"

	"github.com/tokenmint/tokenmint/internal/httpx"
	"github.com/tokenmint/tokenmint/internal/redact"
)

// Defaults.
const (
	DefaultAddr         = "127.0.0.1:8080"
	DefaultGitHubAPIURL = "https://api.github.com"
	DefaultTolerance    = 5 * time.Minute
	DefaultReplayWindow = 10 * time.Minute
	DefaultConcurrency  = 4
	DefaultQueueSize    = 10000
	DefaultMaxBody      = 1 << 20 // 1 MiB
	DefaultReplayMax    = 200000
	DefaultMaxAttempts  = 8
	DefaultRetryBudget  = 10 * time.Minute
	DefaultAttemptLimit = 30 * time.Second
	// MaxConcurrency stays under GitHub's 100 concurrent requests.
	MaxConcurrency = 64
)

// Config builds a Relay.
type Config struct {
	// Routes maps events to repositories (required).
	Routes *Routes
	// Secrets are the webhook secrets; a signature under any of them is
	// accepted (rotation). At least one is required.
	Secrets []redact.Secret
	// GitHubToken authenticates the dispatches (needs write access to the
	// repositories' contents, or "contents: write" fine-grained).
	GitHubToken redact.Secret
	// GitHubAPIURL is the REST base (GHES: https://HOST/api/v3). Default
	// https://api.github.com. http:// is accepted only for loopback hosts.
	GitHubAPIURL string
	// HTTPClient supplies the transport the GitHub client is built on
	// (default httpx.NewHTTPClient()); the relay wraps it with an
	// oauth2.Transport carrying GitHubToken.
	HTTPClient *http.Client
	// GitHubClient, when set, is used as is (GitHubToken, GitHubAPIURL and
	// HTTPClient are then ignored).
	GitHubClient *github.Client

	Tolerance    time.Duration // max |now - timestamp|; default 5m
	ReplayWindow time.Duration // how long a delivery is remembered; default 10m
	Concurrency  int           // dispatch workers; default 4, max 64
	QueueSize    int           // queued dispatches before 503; default 10000
	MaxBody      int64         // request body cap; default 1 MiB
	ReplayMax    int           // replay cache entries before 503; default 200000
	MaxAttempts  int           // per dispatch, first included; default 8
	RetryBudget  time.Duration // per dispatch, waits included; default 10m
	AttemptLimit time.Duration // per dispatch attempt; default 30s
	// Logger receives structured logs (default: discard).
	Logger *slog.Logger

	// Test hooks.
	now        func() time.Time
	sleep      func(context.Context, time.Duration) error
	backoff    time.Duration
	onShutdown func()
}

// Stats counts what the relay did since it started.
type Stats struct {
	Accepted   int64 // webhooks queued for dispatch (202)
	Ignored    int64 // verified webhooks with no route or an unknown event (200)
	Rejected   int64 // 4xx answers (signature, timestamp, replay, body)
	Refused    int64 // 503 answers (queue full, shutting down)
	Dispatched int64 // repository_dispatch calls that succeeded
	Failed     int64 // dispatches given up (4xx, retries exhausted, shutdown)
	Retries    int64 // dispatch attempts after the first
	Queued     int   // dispatches waiting now
}

// Relay is the webhook receiver and its dispatch worker pool.
type Relay struct {
	cfg     Config
	targets map[string][]Target
	gh      *github.Client
	log     *slog.Logger
	masker  *redact.Masker
	replay  *replayCache
	queue   *queue

	workCtx    context.Context
	cancelWork context.CancelFunc
	wg         sync.WaitGroup
	closing    atomic.Bool
	closeOnce  sync.Once

	accepted, ignored, rejected, refused atomic.Int64
	dispatched, failed, retries          atomic.Int64
}

// New validates cfg, builds the GitHub client and starts the workers.
// Call Shutdown to stop them.
func New(cfg Config) (*Relay, error) {
	if cfg.Routes == nil {
		return nil, &ConfigError{Field: "routes", Rule: "no routes configured"}
	}
	if err := cfg.Routes.Validate(); err != nil {
		return nil, err
	}
	var secrets []redact.Secret
	for _, s := range cfg.Secrets {
		if !s.Empty() {
			secrets = append(secrets, s)
		}
	}
	if len(secrets) == 0 {
		return nil, &ConfigError{Field: EnvWebhookSecrets, Rule: "set at least one webhook secret"}
	}
	cfg.Secrets = secrets
	setDefault(&cfg.Tolerance, DefaultTolerance)
	setDefault(&cfg.ReplayWindow, DefaultReplayWindow)
	setDefault(&cfg.Concurrency, DefaultConcurrency)
	setDefault(&cfg.QueueSize, DefaultQueueSize)
	setDefault(&cfg.MaxBody, DefaultMaxBody)
	setDefault(&cfg.ReplayMax, DefaultReplayMax)
	setDefault(&cfg.MaxAttempts, DefaultMaxAttempts)
	setDefault(&cfg.RetryBudget, DefaultRetryBudget)
	setDefault(&cfg.AttemptLimit, DefaultAttemptLimit)
	setDefault(&cfg.backoff, time.Second)
	if cfg.Concurrency > MaxConcurrency {
		return nil, &ConfigError{Field: "concurrency", Rule: fmt.Sprintf("must be between 1 and %d", MaxConcurrency)}
	}
	if cfg.now == nil {
		cfg.now = time.Now
	}
	if cfg.sleep == nil {
		cfg.sleep = httpx.Sleep
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	masker := redact.NewMasker()
	for _, s := range cfg.Secrets {
		masker.Add(s.Reveal())
	}
	gh := cfg.GitHubClient
	if gh == nil {
		if cfg.GitHubToken.Empty() {
			return nil, &ConfigError{Field: EnvGitHubToken, Rule: "set a token that may create repository_dispatch events"}
		}
		masker.Add(cfg.GitHubToken.Reveal())
		var err error
		gh, err = newGitHubClient(cfg.HTTPClient, cfg.GitHubAPIURL, cfg.GitHubToken)
		if err != nil {
			return nil, err
		}
	}
	r := &Relay{
		cfg:     cfg,
		targets: cfg.Routes.Targets(),
		gh:      gh,
		log:     cfg.Logger,
		masker:  masker,
		replay:  newReplayCache(cfg.ReplayMax),
		queue:   newQueue(cfg.QueueSize),
	}
	r.workCtx, r.cancelWork = context.WithCancel(context.Background())
	for range cfg.Concurrency {
		r.wg.Add(1)
		go r.worker()
	}
	return r, nil
}

func setDefault[T int | int64 | time.Duration](p *T, def T) {
	if *p <= 0 {
		*p = def
	}
}

// newGitHubClient builds a go-github client on base's transport, with the
// token added by an oauth2.Transport and BaseURL set to apiURL.
func newGitHubClient(base *http.Client, apiURL string, token redact.Secret) (*github.Client, error) {
	u, err := ParseGitHubAPIURL(apiURL)
	if err != nil {
		return nil, err
	}
	if base == nil {
		base = httpx.NewHTTPClient()
	}
	rt := base.Transport
	if rt == nil {
		rt = httpx.NewTransport()
	}
	hc := &http.Client{
		Transport: &oauth2.Transport{
			Source: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: token.Reveal(), TokenType: "Bearer"}),
			Base:   rt,
		},
		Timeout: base.Timeout,
		// oauth2.Transport adds the token to every request it sends,
		// redirects included: never follow one to another host.
		CheckRedirect: httpx.SameHostRedirects,
	}
	gh := github.NewClient(hc)
	gh.BaseURL = u
	gh.UserAgent = "tokenmint/" + httpx.Version
	return gh, nil
}

// ParseGitHubAPIURL checks a GitHub REST base URL (https, or http on a
// loopback host) and returns it with the trailing slash go-github needs.
func ParseGitHubAPIURL(s string) (*url.URL, error) {
	if s == "" {
		s = DefaultGitHubAPIURL
	}
	u, err := httpx.GitHubAPIBase(s) // the one GHES base rule
	if err != nil {
		return nil, &ConfigError{Field: "github-api-url", Rule: err.Error() + " (such as https://api.github.com or https://HOST/api/v3)"}
	}
	u.Path += "/"
	if u.RawPath != "" {
		u.RawPath += "/"
	}
	return u, nil
}

// Handler serves POST / and POST /webhook (Tooken deliveries) and
// GET /healthz.
func (r *Relay) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /{$}", r.handleWebhook)
	mux.HandleFunc("POST /webhook", r.handleWebhook)
	mux.HandleFunc("GET /healthz", r.handleHealth)
	return mux
}

// Stats returns the counters.
func (r *Relay) Stats() Stats {
	return Stats{
		Accepted:   r.accepted.Load(),
		Ignored:    r.ignored.Load(),
		Rejected:   r.rejected.Load(),
		Refused:    r.refused.Load(),
		Dispatched: r.dispatched.Load(),
		Failed:     r.failed.Load(),
		Retries:    r.retries.Load(),
		Queued:     r.queue.len(),
	}
}

// Shutdown stops accepting webhooks (503) and waits until every queued
// dispatch has been delivered or given up. If ctx ends first, in-flight
// and queued dispatches are abandoned (each logged at error level with its
// token id and repository, so it can be redelivered) and an error is
// returned. Stop the HTTP server first (http.Server.Shutdown) so that no
// handler is still queueing.
func (r *Relay) Shutdown(ctx context.Context) error {
	r.closeOnce.Do(func() {
		r.closing.Store(true)
		if r.cfg.onShutdown != nil {
			r.cfg.onShutdown()
		}
		r.queue.close()
	})
	done := make(chan struct{})
	go func() {
		r.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		r.cancelWork()
		return nil
	case <-ctx.Done():
		before := r.failed.Load()
		r.cancelWork()
		<-done
		return fmt.Errorf("failed to drain dispatches: %d abandoned: %w", r.failed.Load()-before, ctx.Err())
	}
}

func (r *Relay) handleHealth(w http.ResponseWriter, _ *http.Request) {
	if r.closing.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "shutting down"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "queued": r.queue.len()})
}

// clientPayload is everything a workflow receives: identifiers only.
type clientPayload struct {
	ID         string `json:"id"`
	Name       string `json:"name,omitempty"`
	Event      string `json:"event"`
	Timestamp  string `json:"timestamp"`
	DeliveryID string `json:"delivery_id"`
}

func (r *Relay) handleWebhook(w http.ResponseWriter, req *http.Request) {
	log := r.log.With("remote", req.RemoteAddr)
	reject := func(status int, reason string, attrs ...any) {
		r.rejected.Add(1)
		log.Warn("webhook rejected", append([]any{"status", status, "reason", reason}, attrs...)...)
		writeJSON(w, status, map[string]any{"error": reason})
	}
	refuse := func(reason string, attrs ...any) {
		r.refused.Add(1)
		log.Warn("webhook refused", append([]any{"status", http.StatusServiceUnavailable, "reason", reason}, attrs...)...)
		w.Header().Set("Retry-After", "5")
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"error": reason})
	}
	if r.closing.Load() {
		refuse("shutting down")
		return
	}
	if req.ContentLength > r.cfg.MaxBody {
		reject(http.StatusRequestEntityTooLarge, "body too large")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, r.cfg.MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			reject(http.StatusRequestEntityTooLarge, "body too large")
			return
		}
		reject(http.StatusBadRequest, "unreadable body")
		return
	}
	sig, ok := VerifySignature(body, req.Header.Get(SignatureHeader), r.cfg.Secrets)
	if !ok {
		// One answer for missing, malformed, truncated and wrong: the
		// caller learns nothing about which check failed.
		reject(http.StatusUnauthorized, "invalid signature")
		return
	}
	env, err := ParseEnvelope(body)
	if err != nil {
		var ee *EnvelopeError
		if errors.As(err, &ee) {
			reject(http.StatusBadRequest, "invalid envelope", "field", ee.Field, "rule", ee.Rule)
			return
		}
		reject(http.StatusBadRequest, "invalid envelope")
		return
	}
	log = log.With("event", redact.Neutralize(env.Event), "token_id", env.TokenID)
	now := r.cfg.now()
	skew := now.Sub(env.Timestamp)
	switch {
	case skew > r.cfg.Tolerance:
		reject(http.StatusUnauthorized, "stale timestamp", "age", skew.Round(time.Second).String())
		return
	case -skew > r.cfg.Tolerance:
		reject(http.StatusUnauthorized, "timestamp in the future", "ahead", (-skew).Round(time.Second).String())
		return
	}
	// Remember the delivery until it could no longer pass the timestamp
	// check, and at least for the replay window.
	expiry := now.Add(r.cfg.ReplayWindow)
	if t := env.Timestamp.Add(r.cfg.Tolerance + time.Second); t.After(expiry) {
		expiry = t
	}
	keys := deliveryKeys(body, sig, env.DeliveryID)
	if err := r.replay.add(keys, now, expiry); err != nil {
		if errors.Is(err, errReplayFull) {
			refuse("replay cache full")
			return
		}
		reject(http.StatusConflict, "replay")
		return
	}
	targets := r.targets[env.Event]
	if len(targets) == 0 {
		r.ignored.Add(1)
		reason := "no route for event"
		if !knownEvent(env.Event) {
			reason = "unknown event"
		}
		log.Info("webhook ignored", "reason", reason)
		writeJSON(w, http.StatusOK, map[string]any{"status": "ignored", "reason": reason})
		return
	}
	delivery := env.DeliveryID
	if delivery == "" {
		sum := sha256.Sum256(body)
		delivery = "sha256:" + hex.EncodeToString(sum[:16])
	}
	payload, err := json.Marshal(clientPayload{
		ID:         env.TokenID,
		Name:       env.TokenName,
		Event:      env.Event,
		Timestamp:  env.Timestamp.Format(time.RFC3339),
		DeliveryID: delivery,
	})
	if err != nil {
		r.replay.remove(keys)
		refuse("failed to encode payload")
		return
	}
	jobs := make([]job, len(targets))
	for i, t := range targets {
		jobs[i] = job{target: t, payload: payload, event: env.Event, tokenID: env.TokenID, delivery: delivery}
	}
	if err := r.queue.push(jobs); err != nil {
		// Not queued: forget it, so the sender's retry is not a replay.
		r.replay.remove(keys)
		refuse(err.Error())
		return
	}
	r.accepted.Add(1)
	log.Info("webhook accepted", "delivery_id", redact.Neutralize(delivery), "dispatches", len(jobs))
	writeJSON(w, http.StatusAccepted, map[string]any{"status": "accepted", "dispatches": len(jobs), "delivery_id": delivery})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (r *Relay) worker() {
	defer r.wg.Done()
	for {
		j, ok := r.queue.pop()
		if !ok {
			return
		}
		r.deliver(r.workCtx, j)
	}
}

// deliver sends one repository_dispatch, retrying 5xx, 429, 403 rate
// limits and network errors within MaxAttempts and RetryBudget.
func (r *Relay) deliver(ctx context.Context, j job) {
	log := r.log.With("event", redact.Neutralize(j.event), "token_id", j.tokenID,
		"repository", j.target.FullName(), "event_type", j.target.EventType, "delivery_id", redact.Neutralize(j.delivery))
	payload := j.payload
	opts := github.DispatchRequestOptions{EventType: j.target.EventType, ClientPayload: &payload}
	start := r.cfg.now()
	for attempt := 1; ; attempt++ {
		if ctx.Err() != nil {
			r.failed.Add(1)
			log.Error("dispatch abandoned at shutdown: redeliver the webhook", "attempt", attempt)
			return
		}
		actx, cancel := context.WithTimeout(ctx, r.cfg.AttemptLimit)
		_, resp, err := r.gh.Repositories.Dispatch(actx, j.target.Owner, j.target.Repo, opts)
		cancel()
		if err == nil || succeeded(resp, err) {
			r.dispatched.Add(1)
			log.Info("dispatched", "attempt", attempt)
			return
		}
		if ctx.Err() != nil {
			r.failed.Add(1)
			log.Error("dispatch abandoned at shutdown: redeliver the webhook", "attempt", attempt)
			return
		}
		d := r.classify(resp, err, attempt)
		if !d.retry {
			r.failed.Add(1)
			log.Error("dispatch failed", "attempt", attempt, "status", d.status, "error", d.desc)
			return
		}
		if attempt >= r.cfg.MaxAttempts {
			r.failed.Add(1)
			log.Error("dispatch failed: attempts exhausted", "attempt", attempt, "status", d.status, "error", d.desc)
			return
		}
		if r.cfg.now().Add(d.wait).Sub(start) > r.cfg.RetryBudget {
			r.failed.Add(1)
			log.Error("dispatch failed: retry budget exhausted", "attempt", attempt, "status", d.status, "wait", d.wait.String(), "error", d.desc)
			return
		}
		r.retries.Add(1)
		log.Warn("dispatch retrying", "attempt", attempt, "status", d.status, "wait", d.wait.String(), "error", d.desc)
		if err := r.cfg.sleep(ctx, d.wait); err != nil {
			r.failed.Add(1)
			log.Error("dispatch abandoned at shutdown: redeliver the webhook", "attempt", attempt)
			return
		}
	}
}

// succeeded treats a 2xx whose body go-github could not decode (GitHub
// answers 204 with no body) or a 202 as delivered.
func succeeded(resp *github.Response, err error) bool {
	var ae *github.AcceptedError
	if errors.As(err, &ae) {
		return true
	}
	return resp != nil && resp.Response != nil && resp.StatusCode/100 == 2 && !isContextErr(err)
}

func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

type decision struct {
	retry  bool
	wait   time.Duration
	status int
	desc   string
}

// classify decides whether a failed dispatch is retried and after how long:
// Retry-After first, then X-RateLimit-Reset, else a minute for rate limits
// and exponential backoff for 5xx and the network. Other 4xx are final.
func (r *Relay) classify(resp *github.Response, err error, attempt int) decision {
	now := r.cfg.now()
	var rle *github.RateLimitError
	var are *github.AbuseRateLimitError
	var ere *github.ErrorResponse
	switch {
	case errors.As(err, &rle):
		d := decision{retry: true, status: http.StatusForbidden, desc: "primary rate limit: " + r.clean(rle.Message)}
		if w, ok := retryAfter(rle.Response, now); ok {
			d.wait = w
		} else if !rle.Rate.Reset.Time.IsZero() {
			d.wait = max(rle.Rate.Reset.Time.Sub(now)+time.Second, time.Second)
		} else {
			d.wait = time.Minute
		}
		return d
	case errors.As(err, &are):
		d := decision{retry: true, status: http.StatusForbidden, desc: "secondary rate limit: " + r.clean(are.Message)}
		if are.RetryAfter != nil {
			d.wait = max(*are.RetryAfter, 0)
		} else if w, ok := retryAfter(are.Response, now); ok {
			d.wait = w
		} else {
			d.wait = time.Minute
		}
		return d
	case errors.As(err, &ere) && ere.Response != nil:
		st := ere.Response.StatusCode
		d := decision{status: st, desc: r.clean(ere.Message)}
		if d.desc == "" {
			d.desc = http.StatusText(st)
		}
		limited := st == http.StatusTooManyRequests ||
			(st == http.StatusForbidden && (ere.Response.Header.Get("Retry-After") != "" || ere.Response.Header.Get("X-RateLimit-Remaining") == "0"))
		switch {
		case limited:
			d.retry = true
			if w, ok := retryAfter(ere.Response, now); ok {
				d.wait = w
			} else if w, ok := rateLimitReset(ere.Response, now); ok {
				d.wait = w
			} else {
				d.wait = time.Minute
			}
		case st >= 500:
			d.retry = true
			if w, ok := retryAfter(ere.Response, now); ok {
				d.wait = w
			} else {
				d.wait = r.backoff(attempt)
			}
		}
		return d
	default:
		st := 0
		if resp != nil && resp.Response != nil {
			st = resp.StatusCode
		}
		return decision{retry: true, status: st, wait: r.backoff(attempt), desc: r.clean(err.Error())}
	}
}

// clean masks registered secrets in server text and neutralizes it.
func (r *Relay) clean(s string) string { return redact.Neutralize(r.masker.Mask(s)) }

func retryAfter(resp *http.Response, now time.Time) (time.Duration, bool) {
	if resp == nil {
		return 0, false
	}
	v := strings.TrimSpace(resp.Header.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

func rateLimitReset(resp *http.Response, now time.Time) (time.Duration, bool) {
	if resp.Header.Get("X-RateLimit-Remaining") != "0" {
		return 0, false
	}
	s, err := strconv.ParseInt(strings.TrimSpace(resp.Header.Get("X-RateLimit-Reset")), 10, 64)
	if err != nil {
		return 0, false
	}
	return max(time.Unix(s, 0).Sub(now)+time.Second, time.Second), true
}

// backoff doubles from the base up to 30s, with up to 20% jitter.
func (r *Relay) backoff(attempt int) time.Duration {
	return httpx.Backoff(r.cfg.backoff, 30*time.Second, attempt)
}
