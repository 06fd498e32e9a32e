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
//     a delivery id already delivered within the replay window (409).
//   - No loss: a webhook is answered 2xx only once GitHub has taken every
//     one of its dispatches. The dispatches run while the sender waits,
//     within DispatchTimeout; when GitHub did not take one the answer is
//     503 (transient, with Retry-After) or 502 (GitHub refused it), the
//     delivery is released and the sender's retry is accepted and sends
//     only the dispatches still missing. A delivery becomes a replay only
//     once it was answered 2xx, so a relay killed at any point loses
//     nothing: the sender retries what it did not see answered.
//   - At least once: a relay killed after GitHub took a dispatch but before
//     it recorded it sends that dispatch again on the sender's retry
//     (counted; the delivery_id in client_payload is the same).
//   - With Redis (Config.Redis) the replay cache and the record of
//     dispatched targets are shared by every replica; when Redis cannot be
//     reached the relay answers 503 and dispatches nothing.
//   - Bounded: connections (MaxConnections), signed webhooks in flight
//     (MaxInFlight), GitHub requests (Concurrency), body time
//     (BodyTimeout) and body memory (small bodies read as they arrive,
//     only MaxLargeBodies larger ones at a time).
//   - No secret (webhook secrets, GitHub token, Redis password) is ever
//     logged or sent in a client_payload; server text is masked and
//     neutralized before logging.
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
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/redis/go-redis/v9"
	"golang.org/x/oauth2"

	"github.com/tokenmint/tokenmint/internal/httpx"
	"github.com/tokenmint/tokenmint/internal/redact"
)

// Defaults.
const (
	DefaultAddr            = "127.0.0.1:8080"
	DefaultGitHubAPIURL    = "https://api.github.com"
	DefaultTolerance       = 5 * time.Minute
	DefaultReplayWindow    = 10 * time.Minute
	DefaultConcurrency     = 16
	DefaultDispatchTimeout = 10 * time.Second
	DefaultBodyTimeout     = 5 * time.Second
	DefaultMaxConnections  = 1024
	DefaultMaxInFlight     = 256
	DefaultMaxLargeBodies  = 16
	DefaultMaxBody         = 1 << 20 // 1 MiB
	// DefaultSmallBody is the largest body read without a large-body
	// slot. Tooken's webhooks are a few hundred bytes.
	DefaultSmallBody    = 32 << 10
	DefaultReplayMax    = 200000
	DefaultMaxAttempts  = 8
	DefaultAttemptLimit = 10 * time.Second
	// MaxConcurrency bounds --concurrency. Against github.com keep
	// replicas × concurrency at or under 100 (GitHub's limit on
	// concurrent requests per token).
	MaxConcurrency = 256
)

// Test hook points (Config.hook): where the crash tests stop the relay.
const (
	hookRead       = "read"       // body read, nothing verified or stored
	hookClaimed    = "claimed"    // delivery claimed in the store, nothing dispatched
	hookRetryWait  = "retry-wait" // a dispatch failed and is waiting to be retried
	hookDispatched = "dispatched" // every dispatch taken by GitHub, not yet recorded done nor answered
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
	// (default httpx.NewTransport with Concurrency idle connections); the
	// relay wraps it with an oauth2.Transport carrying GitHubToken.
	HTTPClient *http.Client
	// GitHubClient, when set, is used as is (GitHubToken, GitHubAPIURL and
	// HTTPClient are then ignored).
	GitHubClient *github.Client
	// Redis, when set, holds the replay cache and the dispatched-target
	// records shared by every replica (keys under RedisPrefix, default
	// DefaultRedisPrefix). Nil: in memory, one replica.
	Redis       *redis.Options
	RedisPrefix string

	Tolerance       time.Duration // max |now - timestamp|; default 5m
	ReplayWindow    time.Duration // how long a delivery is remembered; default 10m
	Concurrency     int           // concurrent GitHub requests; default 16, max 256
	DispatchTimeout time.Duration // a webhook's dispatches, retries included; default 10s
	BodyTimeout     time.Duration // reading a request body; default 5s
	MaxInFlight     int           // signed webhooks being dispatched at once; default 256
	MaxLargeBodies  int           // bodies over SmallBody read at once; default 16
	MaxBody         int64         // request body cap; default 1 MiB
	SmallBody       int64         // largest body read without a large-body slot; default 32 KiB
	ReplayMax       int           // in-memory store entries before 503; default 200000
	MaxAttempts     int           // per dispatch, first included; default 8
	AttemptLimit    time.Duration // per dispatch attempt; default 10s
	// Logger receives structured logs (default: discard).
	Logger *slog.Logger

	// Test hooks.
	now     func() time.Time
	sleep   func(context.Context, time.Duration) error
	backoff time.Duration
	// hook is called at each hook* point (crash tests block there).
	hook func(point string)
}

// Stats counts what the relay did since it started.
type Stats struct {
	Accepted   int64 // webhooks whose dispatches GitHub all took (2xx)
	Ignored    int64 // verified webhooks with no route or an unknown event (200)
	Rejected   int64 // 4xx answers (signature, timestamp, replay, body)
	Refused    int64 // 503 answers (busy, store down, GitHub unavailable, shutting down)
	Failed     int64 // 502 answers: GitHub refused a dispatch for good
	Dispatched int64 // repository_dispatch calls GitHub took
	Rejections int64 // repository_dispatch calls GitHub refused for good (4xx)
	Retries    int64 // dispatch attempts after the first
	// Ambiguous counts attempts whose outcome is unknown (a timeout, a
	// dropped connection or a 5xx after the request was sent) that were
	// then retried or left to the sender's retry: each may have created a
	// duplicate event.
	Ambiguous int64
	// Resumed counts dispatches skipped on a retry because an earlier
	// attempt had already delivered them.
	Resumed  int64
	InFlight int // signed webhooks being dispatched now
}

// Relay is the webhook receiver.
type Relay struct {
	cfg     Config
	targets map[string][]Target
	gh      *github.Client
	log     *slog.Logger
	masker  *redact.Masker
	store   store
	ghSem   chan struct{} // GitHub requests
	flight  chan struct{} // signed webhooks being dispatched
	large   chan struct{} // large bodies being read

	workCtx    context.Context
	cancelWork context.CancelFunc
	mu         sync.Mutex
	closed     bool
	active     int           // webhook handlers running
	idle       chan struct{} // closed when active drops to 0 after Shutdown
	closeOnce  sync.Once

	accepted, ignored, rejected, refused, failed atomic.Int64
	dispatched, rejections, retries              atomic.Int64
	ambiguous, resumed                           atomic.Int64
}

// New validates cfg and builds the GitHub client and the store. Call
// Shutdown to release them.
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
	setDefault(&cfg.DispatchTimeout, DefaultDispatchTimeout)
	setDefault(&cfg.BodyTimeout, DefaultBodyTimeout)
	setDefault(&cfg.MaxInFlight, DefaultMaxInFlight)
	setDefault(&cfg.MaxLargeBodies, DefaultMaxLargeBodies)
	setDefault(&cfg.MaxBody, DefaultMaxBody)
	setDefault(&cfg.SmallBody, DefaultSmallBody)
	setDefault(&cfg.ReplayMax, DefaultReplayMax)
	setDefault(&cfg.MaxAttempts, DefaultMaxAttempts)
	setDefault(&cfg.AttemptLimit, DefaultAttemptLimit)
	setDefault(&cfg.backoff, time.Second)
	if cfg.Concurrency > MaxConcurrency {
		return nil, &ConfigError{Field: "concurrency", Rule: fmt.Sprintf("must be between 1 and %d", MaxConcurrency)}
	}
	cfg.SmallBody = min(cfg.SmallBody, cfg.MaxBody)
	if cfg.now == nil {
		cfg.now = time.Now
	}
	if cfg.sleep == nil {
		cfg.sleep = httpx.Sleep
	}
	if cfg.hook == nil {
		cfg.hook = func(string) {}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	masker := redact.NewMasker()
	for _, s := range cfg.Secrets {
		masker.Add(s.Reveal())
	}
	if cfg.Redis != nil && cfg.Redis.Password != "" {
		masker.Add(cfg.Redis.Password)
	}
	gh := cfg.GitHubClient
	if gh == nil {
		if cfg.GitHubToken.Empty() {
			return nil, &ConfigError{Field: EnvGitHubToken, Rule: "set a token that may create repository_dispatch events"}
		}
		masker.Add(cfg.GitHubToken.Reveal())
		var err error
		gh, err = newGitHubClient(cfg.HTTPClient, cfg.GitHubAPIURL, cfg.GitHubToken, cfg.Concurrency)
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
		ghSem:   make(chan struct{}, cfg.Concurrency),
		flight:  make(chan struct{}, cfg.MaxInFlight),
		large:   make(chan struct{}, cfg.MaxLargeBodies),
	}
	if cfg.Redis != nil {
		r.store = newRedisStore(cfg.Redis, cfg.RedisPrefix, cfg.MaxInFlight+8, DefaultRedisTimeout)
	} else {
		r.store = newMemStore(cfg.ReplayMax)
	}
	r.workCtx, r.cancelWork = context.WithCancel(context.Background())
	return r, nil
}

func setDefault[T int | int64 | time.Duration](p *T, def T) {
	if *p <= 0 {
		*p = def
	}
}

// newGitHubClient builds a go-github client on base's transport, with the
// token added by an oauth2.Transport and BaseURL set to apiURL.
func newGitHubClient(base *http.Client, apiURL string, token redact.Secret, conns int) (*github.Client, error) {
	u, err := ParseGitHubAPIURL(apiURL)
	if err != nil {
		return nil, err
	}
	if base == nil {
		base = &http.Client{}
	}
	rt := base.Transport
	if rt == nil {
		t := httpx.NewTransport()
		// Keep one idle connection per concurrent request: dispatches
		// run in parallel while the sender waits.
		t.MaxIdleConnsPerHost = max(t.MaxIdleConnsPerHost, conns)
		t.MaxIdleConns = max(t.MaxIdleConns, conns)
		rt = t
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
		Failed:     r.failed.Load(),
		Dispatched: r.dispatched.Load(),
		Rejections: r.rejections.Load(),
		Retries:    r.retries.Load(),
		Ambiguous:  r.ambiguous.Load(),
		Resumed:    r.resumed.Load(),
		InFlight:   len(r.flight),
	}
}

// enter admits a webhook handler unless the relay is shutting down.
func (r *Relay) enter() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	r.active++
	return true
}

func (r *Relay) leave() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.active--
	if r.active == 0 && r.idle != nil {
		close(r.idle)
		r.idle = nil
	}
}

// Shutdown stops accepting webhooks (503) and waits until the ones in
// progress are answered. If ctx ends first their dispatches are cancelled
// (their senders get no 2xx and retry: nothing is lost) and an error is
// returned. It then closes the store. Stop the HTTP server first
// (http.Server.Shutdown), which also waits for the handlers.
func (r *Relay) Shutdown(ctx context.Context) error {
	r.mu.Lock()
	r.closed = true
	var wait chan struct{}
	if r.active > 0 {
		if r.idle == nil {
			r.idle = make(chan struct{})
		}
		wait = r.idle
	}
	r.mu.Unlock()
	var err error
	if wait != nil {
		select {
		case <-wait:
		case <-ctx.Done():
			r.cancelWork()
			<-wait
			err = fmt.Errorf("failed to finish the webhooks in progress (their senders will retry): %w", ctx.Err())
		}
	}
	r.cancelWork()
	r.closeOnce.Do(func() {
		if cerr := r.store.close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("failed to close the replay store: %w", cerr))
		}
	})
	return err
}

func (r *Relay) handleHealth(w http.ResponseWriter, _ *http.Request) {
	r.mu.Lock()
	closed := r.closed
	r.mu.Unlock()
	if closed {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "shutting down"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"status": "ok", "in_flight": len(r.flight),
		"dispatched": r.dispatched.Load(), "rejected_by_github": r.rejections.Load(), "ambiguous": r.ambiguous.Load(),
	})
}

// clientPayload is everything a workflow receives: identifiers only.
type clientPayload struct {
	ID         string `json:"id"`
	Name       string `json:"name,omitempty"`
	Event      string `json:"event"`
	Timestamp  string `json:"timestamp"`
	DeliveryID string `json:"delivery_id"`
}

// job is one repository_dispatch to send.
type job struct {
	target   Target
	payload  json.RawMessage
	event    string
	tokenID  string
	delivery string
}

// storeKey names a target in the store's record of dispatched targets.
func (t Target) storeKey() string { return strings.ToLower(t.FullName()) + " " + t.EventType }

// claimTTL is how long a claim outlives its holder: the dispatch budget,
// one store operation and a second of slack, so a live holder never loses
// its claim and a dead one blocks the retry no longer than that.
func (r *Relay) claimTTL() time.Duration {
	return r.cfg.DispatchTimeout + DefaultRedisTimeout + time.Second
}

func retryAfterHeader(d time.Duration) string {
	s := int64((d + time.Second - 1) / time.Second)
	return strconv.FormatInt(min(max(s, 1), 3600), 10)
}

func (r *Relay) handleWebhook(w http.ResponseWriter, req *http.Request) {
	start := time.Now()
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(start.Add(r.cfg.BodyTimeout))
	_ = rc.SetWriteDeadline(start.Add(r.cfg.BodyTimeout + r.claimTTL() + 2*DefaultRedisTimeout))
	log := r.log.With("remote", req.RemoteAddr)
	reject := func(status int, reason string, attrs ...any) {
		r.rejected.Add(1)
		log.Warn("webhook rejected", append([]any{"status", status, "reason", reason}, attrs...)...)
		writeJSON(w, status, map[string]any{"error": reason})
	}
	refuse := func(reason string, retry time.Duration, attrs ...any) {
		r.refused.Add(1)
		log.Warn("webhook refused", append([]any{"status", http.StatusServiceUnavailable, "reason", reason}, attrs...)...)
		w.Header().Set("Retry-After", retryAfterHeader(retry))
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"error": reason})
	}
	if !r.enter() {
		refuse("shutting down", 5*time.Second)
		return
	}
	defer r.leave()
	body, releaseBody, status, reason := r.readBody(req)
	defer releaseBody()
	if status != 0 {
		// The rest of the body is not read: do not reuse the connection.
		w.Header().Set("Connection", "close")
		if status == http.StatusServiceUnavailable {
			refuse(reason, time.Second)
		} else {
			reject(status, reason)
		}
		return
	}
	r.cfg.hook(hookRead)
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
	ref := newDeliveryRef(body, sig, env.DeliveryID)
	delivery := env.DeliveryID
	if delivery == "" {
		sum := sha256.Sum256(body)
		delivery = "sha256:" + hex.EncodeToString(sum[:16])
	}
	releaseBody()
	log = log.With("delivery_id", redact.Neutralize(delivery))
	payload, err := json.Marshal(clientPayload{
		ID:         env.TokenID,
		Name:       env.TokenName,
		Event:      env.Event,
		Timestamp:  env.Timestamp.Format(time.RFC3339),
		DeliveryID: delivery,
	})
	if err != nil {
		refuse("failed to encode payload", 5*time.Second)
		return
	}
	select {
	case r.flight <- struct{}{}:
		defer func() { <-r.flight }()
	default:
		refuse("too many webhooks in flight", time.Second)
		return
	}
	// Remember the delivery until it could no longer pass the timestamp
	// check, and at least for the replay window.
	expiry := now.Add(r.cfg.ReplayWindow)
	if t := env.Timestamp.Add(r.cfg.Tolerance + time.Second); t.After(expiry) {
		expiry = t
	}
	ctx, cancel := context.WithTimeout(r.workCtx, r.cfg.DispatchTimeout)
	defer cancel()
	token := newToken()
	done, err := r.store.claim(ctx, ref, token, now, r.claimTTL())
	switch {
	case errors.Is(err, errReplay):
		reject(http.StatusConflict, "replay")
		return
	case errors.Is(err, errBusy):
		// Another attempt of this delivery is being dispatched (a retry
		// that overtook it, or a replica that died holding it): not a
		// replay, try again shortly.
		refuse("delivery in progress", time.Second)
		return
	case errors.Is(err, errReplayFull):
		refuse("replay cache full", 5*time.Second)
		return
	case err != nil:
		log.Error("replay store unavailable: refusing webhooks until it answers", "error", r.clean(err.Error()))
		refuse("replay store unavailable", 5*time.Second)
		return
	}
	r.cfg.hook(hookClaimed)
	jobs := make([]job, len(targets))
	for i, t := range targets {
		jobs[i] = job{target: t, payload: payload, event: env.Event, tokenID: env.TokenID, delivery: delivery}
	}
	out := r.dispatchAll(ctx, ref, jobs, done, now, expiry)
	// The store operations below run even if the dispatch budget is spent.
	sctx := context.WithoutCancel(ctx)
	if out.ok {
		r.cfg.hook(hookDispatched)
		if err := r.store.finish(sctx, ref, token, r.cfg.now(), expiry); err != nil {
			// Dispatched but not recorded: answer 503 so that the sender
			// retries rather than trust an entry that is not there. The
			// targets are recorded, so the retry sends nothing twice.
			log.Error("webhook dispatched but not recorded: the sender's retry will be answered from the dispatch record if the store is back", "error", r.clean(err.Error()))
			for _, j := range jobs {
				_ = r.store.markDispatched(sctx, ref, j.target.storeKey(), r.cfg.now(), expiry)
			}
			_ = r.store.release(sctx, ref, token)
			refuse("replay store unavailable", 5*time.Second)
			return
		}
		r.accepted.Add(1)
		log.Info("webhook delivered", "dispatches", len(jobs), "elapsed", time.Since(start).Round(time.Millisecond).String())
		writeJSON(w, http.StatusOK, map[string]any{"status": "dispatched", "dispatches": len(jobs), "delivery_id": delivery})
		return
	}
	if err := r.store.release(sctx, ref, token); err != nil {
		log.Warn("could not release the delivery: its retry waits until the claim expires", "claim_ttl", r.claimTTL().String(), "error", r.clean(err.Error()))
	}
	if out.final {
		r.failed.Add(1)
		log.Error("webhook not delivered: GitHub refused a dispatch; fix the token or the route, the sender's retry is accepted", "failed", out.failedRepos())
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusBadGateway, map[string]any{"error": "GitHub refused the dispatch", "failed": out.failures})
		return
	}
	refuse("GitHub did not take the dispatch in time", out.retryAfter, "failed", out.failedRepos())
}

// readBody reads the request body within the caps. A body of at most
// SmallBody bytes needs no slot (connections are capped, so this memory
// is too); a larger one takes one of MaxLargeBodies slots, without waiting:
// when none is free the answer is 503, so a flood of large bodies never
// holds up a small signed webhook. It returns the body and the slot's
// release, or an HTTP status and a reason.
func (r *Relay) readBody(req *http.Request) (body []byte, release func(), status int, reason string) {
	release = func() {}
	takeLarge := func() bool {
		select {
		case r.large <- struct{}{}:
			var once sync.Once
			release = func() { once.Do(func() { <-r.large }) }
			return true
		default:
			return false
		}
	}
	fail := func(err error) ([]byte, func(), int, string) {
		var ne interface{ Timeout() bool }
		if errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
			return nil, release, http.StatusRequestTimeout, "body not received in time"
		}
		return nil, release, http.StatusBadRequest, "unreadable body"
	}
	cl := req.ContentLength
	switch {
	case cl > r.cfg.MaxBody:
		return nil, release, http.StatusRequestEntityTooLarge, "body too large"
	case cl > r.cfg.SmallBody && !takeLarge():
		return nil, release, http.StatusServiceUnavailable, "too many large bodies being read"
	case cl >= 0:
		body = make([]byte, cl)
		if _, err := io.ReadFull(req.Body, body); err != nil {
			return fail(err)
		}
		return body, release, 0, ""
	}
	// Chunked: read as it arrives, a large slot once past SmallBody.
	body, err := io.ReadAll(io.LimitReader(req.Body, r.cfg.SmallBody+1))
	if err != nil {
		return fail(err)
	}
	if int64(len(body)) <= r.cfg.SmallBody {
		return body, release, 0, ""
	}
	if !takeLarge() {
		return nil, release, http.StatusServiceUnavailable, "too many large bodies being read"
	}
	rest, err := io.ReadAll(io.LimitReader(req.Body, r.cfg.MaxBody+1-int64(len(body))))
	if err != nil {
		return fail(err)
	}
	if body = append(body, rest...); int64(len(body)) > r.cfg.MaxBody {
		return nil, release, http.StatusRequestEntityTooLarge, "body too large"
	}
	return body, release, 0, ""
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// failure is one dispatch GitHub did not take.
type failure struct {
	Repository string `json:"repository"`
	Status     int    `json:"status,omitempty"`
}

// outcome is what became of a webhook's dispatches.
type outcome struct {
	ok         bool
	final      bool          // GitHub refused at least one for good
	retryAfter time.Duration // the longest wait GitHub asked for
	failures   []failure
}

func (o outcome) failedRepos() []string {
	out := make([]string, len(o.failures))
	for i, f := range o.failures {
		out[i] = f.Repository
	}
	return out
}

// result is what became of one dispatch.
type result struct {
	ok         bool
	final      bool
	status     int
	retryAfter time.Duration
}

// dispatchAll sends the jobs not yet done in parallel, records each one
// GitHub takes, and sums up.
func (r *Relay) dispatchAll(ctx context.Context, ref deliveryRef, jobs []job, done map[string]bool, now, expiry time.Time) outcome {
	results := make([]result, len(jobs))
	var wg sync.WaitGroup
	// Each dispatch GitHub takes is recorded at once, so that a retry of
	// this webhook (here or on another replica, after a failure or a
	// crash) does not send it again; except the last one when all went
	// through, which store.finish records just after (one round trip
	// less on the common path, the same window).
	var pending atomic.Int64
	var failedAny atomic.Bool
	for _, j := range jobs {
		if !done[j.target.storeKey()] {
			pending.Add(1)
		}
	}
	for i, j := range jobs {
		log := r.log.With("event", redact.Neutralize(j.event), "token_id", j.tokenID,
			"repository", j.target.FullName(), "event_type", j.target.EventType, "delivery_id", redact.Neutralize(j.delivery))
		if done[j.target.storeKey()] {
			r.resumed.Add(1)
			log.Info("dispatch already delivered by an earlier attempt: not sent again")
			results[i] = result{ok: true}
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := r.deliver(ctx, j, log)
			if !res.ok {
				failedAny.Store(true)
			}
			last := pending.Add(-1) == 0
			if res.ok && (!last || failedAny.Load()) {
				if err := r.store.markDispatched(context.WithoutCancel(ctx), ref, j.target.storeKey(), r.cfg.now(), expiry); err != nil {
					log.Warn("dispatch not recorded: a retry of this webhook may send it again", "error", r.clean(err.Error()))
				}
			}
			results[i] = res
		}()
	}
	wg.Wait()
	out := outcome{ok: true}
	for i, res := range results {
		if res.ok {
			continue
		}
		out.ok = false
		out.final = out.final || res.final
		out.retryAfter = max(out.retryAfter, res.retryAfter)
		out.failures = append(out.failures, failure{Repository: jobs[i].target.FullName(), Status: res.status})
	}
	if !out.ok && out.retryAfter == 0 {
		out.retryAfter = 5 * time.Second
	}
	return out
}

// deliver sends one repository_dispatch, retrying 5xx, 429, 403 rate
// limits and network errors within MaxAttempts and the dispatch budget.
// A wait that would overrun the budget is not taken: the dispatch is left
// to the sender's retry, with GitHub's wait passed on as Retry-After.
func (r *Relay) deliver(ctx context.Context, j job, log *slog.Logger) result {
	payload := j.payload
	opts := github.DispatchRequestOptions{EventType: j.target.EventType, ClientPayload: &payload}
	budgetEnd := r.cfg.now().Add(r.cfg.DispatchTimeout)
	for attempt := 1; ; attempt++ {
		select {
		case r.ghSem <- struct{}{}:
		case <-ctx.Done():
			log.Warn("dispatch not sent: no free GitHub slot within the dispatch timeout; the sender retries", "attempt", attempt, "concurrency", r.cfg.Concurrency)
			return result{}
		}
		actx, cancel := context.WithTimeout(ctx, r.cfg.AttemptLimit)
		_, resp, err := r.gh.Repositories.Dispatch(actx, j.target.Owner, j.target.Repo, opts)
		cancel()
		<-r.ghSem
		if err == nil || succeeded(resp, err) {
			r.dispatched.Add(1)
			log.Info("dispatched", "attempt", attempt)
			return result{ok: true}
		}
		d := r.classify(resp, err, attempt)
		if !d.retry {
			r.rejections.Add(1)
			log.Error("dispatch refused by GitHub", "attempt", attempt, "status", d.status, "error", d.desc)
			return result{final: true, status: d.status}
		}
		res := result{status: d.status, retryAfter: d.wait}
		if d.ambiguous {
			// GitHub may have created the event: the next try (ours or the
			// sender's) may duplicate it.
			r.ambiguous.Add(1)
		}
		switch {
		case ctx.Err() != nil:
			log.Warn("dispatch not confirmed within the dispatch timeout: the sender retries", "attempt", attempt, "status", d.status, "error", d.desc)
			return res
		case attempt >= r.cfg.MaxAttempts:
			log.Warn("dispatch attempts exhausted: the sender retries", "attempt", attempt, "status", d.status, "error", d.desc)
			return res
		case r.cfg.now().Add(d.wait).After(budgetEnd):
			log.Warn("dispatch retry would overrun the dispatch timeout: the sender retries", "attempt", attempt, "status", d.status, "wait", d.wait.String(), "error", d.desc)
			return res
		}
		r.retries.Add(1)
		log.Warn("dispatch retrying", "attempt", attempt, "status", d.status, "wait", d.wait.String(), "error", d.desc)
		r.cfg.hook(hookRetryWait)
		if err := r.cfg.sleep(ctx, d.wait); err != nil {
			return res
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
	retry     bool
	ambiguous bool // the request may have been processed (5xx, timeout, dropped)
	wait      time.Duration
	status    int
	desc      string
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
			d.retry, d.ambiguous = true, true
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
		// A refused or failed connection never reached GitHub; anything
		// later (timeout, reset) may have.
		var oe *net.OpError
		notSent := errors.As(err, &oe) && oe.Op == "dial"
		return decision{retry: true, ambiguous: !notSent, status: st, wait: r.backoff(attempt), desc: r.clean(err.Error())}
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
