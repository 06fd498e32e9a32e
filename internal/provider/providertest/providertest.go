// Package providertest is the conformance suite every tokenmint provider
// runs against its own fake service (package internal/fake and below):
// mint with scopes and ttl, find by exact name, revoke, revoke of an
// unknown ID, rotate where supported, and a fault matrix driven through
// provider.Mint and Provider.Revoke (5xx then success, 429 with
// Retry-After, a create performed but whose answer was lost, a server
// slower than the client timeout, malformed JSON, a 20 MB body, error
// bodies carrying workflow commands and file-command delimiters).
//
// After every case it asserts that the fake holds no orphan (a live token
// the case did not mean to keep), that no secret (the admin key, every
// secret the fake issued or the provider returned) appears in any error,
// log line, warning or printed token, and that error and log text cannot
// issue workflow commands. It counts the requests of each mint and revoke
// and asserts them where the contract fixes them (1 per happy mint, 1 per
// happy revoke).
//
// A provider's test calls Run from a top-level test that does not call
// t.Parallel: the suite runs its cases in parallel itself, and runs the
// memory-bound case alone first so runtime.MemStats measures only it.
package providertest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenmint/tokenmint/internal/fake"
	"github.com/tokenmint/tokenmint/internal/httpx"
	"github.com/tokenmint/tokenmint/internal/ledger"
	"github.com/tokenmint/tokenmint/internal/provider"
	"github.com/tokenmint/tokenmint/internal/redact"
)

// Routes are the fake's route keys (the patterns given to
// fake.Server.Handle) for each operation.
type Routes struct {
	Create string // "POST /v1/tokens"
	List   string // "" when the service cannot list
	Revoke string // "DELETE /v1/tokens/{id}"
	Rotate string // "" when the service cannot rotate
}

// Caps are what the provider can do.
type Caps struct {
	CanList   bool // List works (find by name, reconciliation of lost creates)
	CanRotate bool // the provider implements provider.Rotator
	HasScopes bool // minted tokens carry the requested scopes
	HasExpiry bool // minted tokens carry an expiry derived from the ttl
}

// Env is what the suite hands a harness to build a provider with.
type Env struct {
	// HTTP is the client the provider must use: short per-request timeout,
	// tiny backoff, a recording sleeper (waits are recorded, not slept),
	// the Masker, and a transport that counts the bytes read.
	HTTP *httpx.Client
	// Masker already holds the admin key.
	Masker *redact.Masker
	// Warnf collects provider warnings (set it as provider.Options.Warnf).
	Warnf func(format string, args ...any)
}

// Instance is one fresh fake service and a provider pointed at it.
type Instance struct {
	Provider provider.Provider
	Server   *fake.Server
}

// Harness plugs a provider and its fake into the suite.
type Harness struct {
	// Name labels the run ("tooken", "hookbase/sdk-shape").
	Name string
	// AdminKey is the admin credential the fake accepts.
	AdminKey string
	// Scopes to request (nil when the service has none).
	Scopes []string
	Routes Routes
	Caps   Caps
	// New starts a fresh fake (closed by t.Cleanup) and returns it with a
	// provider built on env.HTTP and env.Warnf.
	New func(t testing.TB, env Env) Instance

	// Optional.

	// TTL requested (default 1h).
	TTL time.Duration
	// ExpiryTolerance is how far the expiry read back may be from
	// now+TTL (default 5s; a service with whole-day expiry needs 24h).
	ExpiryTolerance time.Duration
	// MaxNameLen is given to provider.Mint to fit suffixed names.
	MaxNameLen int
	// UnknownID is an ID the fake never issued (default "tm_unknown_0").
	UnknownID string
	// Request builds the mint request for a name (default: Name, Scopes,
	// TTL). Use it for provider-specific fields (github-app).
	Request func(name string) provider.MintRequest
	// Timeout is the client's per-request timeout (default 5s, so a
	// loaded machine running -race does not time out a healthy request);
	// the slow cases make the fake wait until the client gives up.
	Timeout time.Duration
	// Skip opts out of cases by name, with the reason shown in the table.
	Skip map[string]string
}

// Op counts the requests one operation sent, by route.
type Op struct {
	Creates, Lists, Revokes, Rotates, Total int
}

func (o Op) String() string {
	if o.Total == 0 {
		return "0"
	}
	var parts []string
	add := func(n int, what string) {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d%s", n, what))
		}
	}
	add(o.Creates, "C")
	add(o.Lists, "L")
	add(o.Revokes, "R")
	add(o.Rotates, "T")
	if other := o.Total - o.Creates - o.Lists - o.Revokes - o.Rotates; other > 0 {
		add(other, "?")
	}
	if len(parts) == 1 && o.Creates+o.Revokes+o.Rotates == o.Total && o.Total == 1 {
		return "1"
	}
	return fmt.Sprintf("%d (%s)", o.Total, strings.Join(parts, "+"))
}

// CaseResult is one case's outcome.
type CaseResult struct {
	Case    string
	Outcome string // "pass", "FAIL", "skip: <why>"
	// Mint and Revoke are the request counts of the case's first mint and
	// first revoke (nil when it made none).
	Mint, Revoke *Op
	// Waits are the back-off waits the client asked for (recorded, not slept).
	Waits []time.Duration
}

// Result is one Run.
type Result struct {
	Provider string
	Cases    []CaseResult
}

// Run runs every conformance case for h and returns the results (also
// logged as a table, visible with -v).
func Run(t *testing.T, h Harness) *Result {
	t.Helper()
	h = h.withDefaults()
	res := &Result{Provider: h.Name}
	var mu sync.Mutex
	record := func(cr CaseResult) {
		mu.Lock()
		defer mu.Unlock()
		res.Cases = append(res.Cases, cr)
	}
	t.Run(h.Name, func(t *testing.T) {
		// The memory-bound case first, alone.
		for _, c := range cases {
			if !c.serial {
				continue
			}
			t.Run(c.name, func(t *testing.T) { runCase(t, h, c, record) })
		}
		for _, c := range cases {
			if c.serial {
				continue
			}
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				runCase(t, h, c, record)
			})
		}
	})
	order := map[string]int{}
	for i, c := range cases {
		order[c.name] = i
	}
	slices.SortFunc(res.Cases, func(a, b CaseResult) int { return order[a.Case] - order[b.Case] })
	t.Logf("conformance of %s:\n%s", h.Name, Table(res))
	return res
}

func (h Harness) withDefaults() Harness {
	if h.TTL <= 0 {
		h.TTL = time.Hour
	}
	if h.ExpiryTolerance <= 0 {
		h.ExpiryTolerance = 5 * time.Second
	}
	if h.UnknownID == "" {
		h.UnknownID = "tm_unknown_0"
	}
	if h.Timeout <= 0 {
		h.Timeout = 5 * time.Second
	}
	if h.Request == nil {
		scopes, ttl := h.Scopes, h.TTL
		h.Request = func(name string) provider.MintRequest {
			return provider.MintRequest{Name: name, Scopes: slices.Clone(scopes), TTL: ttl}
		}
	}
	return h
}

// caseDef is one conformance case.
type caseDef struct {
	name   string
	serial bool
	// needs returns why the case does not apply to caps ("" when it does).
	needs func(h Harness) string
	run   func(c *C)
}

func needList(h Harness) string {
	if !h.Caps.CanList {
		return "cannot list"
	}
	return ""
}

func needListOrRoute(h Harness) string {
	if h.Routes.List == "" || !h.Caps.CanList {
		return "cannot list: a lost create cannot be reconciled"
	}
	return ""
}

// C is the state of one running case.
type C struct {
	T        *testing.T
	H        Harness
	Provider provider.Provider
	Server   *fake.Server
	Masker   *redact.Masker

	mu       sync.Mutex
	texts    []string // every error string, log line, warning, printed token
	errTexts []string // error strings and log lines (workflow-command check)
	secrets  []string // secrets the provider returned
	keep     []string
	waits    []time.Duration
	warnings []string
	mintOps  []Op
	ledger   *ledger.Ledger
	revOps   []Op
	bytes    *byteCounter
}

// Keep marks a token the case leaves live on purpose.
func (c *C) Keep(id string) { c.mu.Lock(); c.keep = append(c.keep, id); c.mu.Unlock() }

// Name returns a token name for this case.
func (c *C) Name(suffix string) string {
	n := "tm-conf-" + strings.ReplaceAll(c.T.Name()[strings.LastIndex(c.T.Name(), "/")+1:], "_", "-")
	if suffix != "" {
		n += "-" + suffix
	}
	return ledger.Fit(n, max(c.H.MaxNameLen-ledger.NonceLen-5, 0))
}

func (c *C) counts() Op {
	s := c.Server
	o := Op{Total: s.Total()}
	o.Creates = s.Count(c.H.Routes.Create)
	if c.H.Routes.List != "" {
		o.Lists = s.Count(c.H.Routes.List)
	}
	o.Revokes = s.Count(c.H.Routes.Revoke)
	if c.H.Routes.Rotate != "" {
		o.Rotates = s.Count(c.H.Routes.Rotate)
	}
	return o
}

func sub(a, b Op) Op {
	return Op{a.Creates - b.Creates, a.Lists - b.Lists, a.Revokes - b.Revokes, a.Rotates - b.Rotates, a.Total - b.Total}
}

func (c *C) logf(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	c.mu.Lock()
	c.texts = append(c.texts, s)
	c.errTexts = append(c.errTexts, s)
	c.mu.Unlock()
}

func (c *C) warnf(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	c.mu.Lock()
	c.texts = append(c.texts, s)
	c.errTexts = append(c.errTexts, s)
	c.warnings = append(c.warnings, s)
	c.mu.Unlock()
}

// Warnings returns what the provider warned about so far.
func (c *C) Warnings() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.warnings)
}

func (c *C) noteErr(err error) {
	if err == nil {
		return
	}
	c.mu.Lock()
	c.texts = append(c.texts, err.Error(), fmt.Sprintf("%v|%+v|%#v", err, err, err))
	c.errTexts = append(c.errTexts, err.Error())
	c.mu.Unlock()
}

func (c *C) noteTok(tok *provider.Token) {
	if tok == nil {
		return
	}
	c.mu.Lock()
	c.texts = append(c.texts, fmt.Sprintf("%v|%+v|%#v|%s", *tok, *tok, tok, tok.Secret))
	if !tok.Secret.Empty() {
		c.secrets = append(c.secrets, tok.Secret.Reveal())
	}
	c.mu.Unlock()
}

// Mint runs ledger.Mint with the suite's options (attempts 0 = default)
// under a fresh ledger whose prefix is name, and records its requests.
// LastLedger returns that ledger (the names sent and their outcomes).
func (c *C) Mint(name string, attempts int) (*provider.Token, error) {
	before := c.counts()
	l, err := ledger.New(ledger.Options{Prefix: name, MaxNameLen: c.H.MaxNameLen})
	if err != nil {
		c.T.Fatalf("failed to make a ledger: %v", err)
	}
	c.mu.Lock()
	c.ledger = l
	c.mu.Unlock()
	tok, err := ledger.Mint(context.Background(), c.Provider, c.H.Request(name), l, ledger.MintOptions{
		Attempts: attempts,
		Logf:     c.logf,
		Backoff:  time.Millisecond,
		Sleep: func(ctx context.Context, d time.Duration) error {
			return ctx.Err()
		},
	})
	op := sub(c.counts(), before)
	c.mu.Lock()
	c.mintOps = append(c.mintOps, op)
	c.mu.Unlock()
	c.noteErr(err)
	c.noteTok(tok)
	return tok, err
}

// LastLedger returns the ledger of the latest Mint.
func (c *C) LastLedger() *ledger.Ledger { c.mu.Lock(); defer c.mu.Unlock(); return c.ledger }

// MintExact creates a token under exactly name, without the ledger (no
// nonce, no retry): for cases about name matching itself.
func (c *C) MintExact(name string) *provider.Token {
	c.T.Helper()
	tok, err := c.Provider.Mint(context.Background(), c.H.Request(name))
	c.noteErr(err)
	c.noteTok(tok)
	if err != nil {
		c.T.Fatalf("failed to mint %q: %v", name, err)
	}
	return tok
}

// Revoke revokes tok and records its requests.
func (c *C) Revoke(tok provider.Token) error {
	before := c.counts()
	err := c.Provider.Revoke(context.Background(), tok)
	op := sub(c.counts(), before)
	c.mu.Lock()
	c.revOps = append(c.revOps, op)
	c.mu.Unlock()
	c.noteErr(err)
	return err
}

// LastMint and LastRevoke return the latest recorded operation.
func (c *C) LastMint() Op   { c.mu.Lock(); defer c.mu.Unlock(); return c.mintOps[len(c.mintOps)-1] }
func (c *C) LastRevoke() Op { c.mu.Lock(); defer c.mu.Unlock(); return c.revOps[len(c.revOps)-1] }

// Waits returns the back-off waits the HTTP client asked for.
func (c *C) Waits() []time.Duration { c.mu.Lock(); defer c.mu.Unlock(); return slices.Clone(c.waits) }

// WantOp fails the case when got differs from want.
func (c *C) WantOp(what string, want, got Op) {
	c.T.Helper()
	if want != got {
		c.T.Errorf("%s: requests = %+v, want %+v", what, got, want)
	}
}

// MustMint mints and fails the case on error.
func (c *C) MustMint(name string) *provider.Token {
	c.T.Helper()
	tok, err := c.Mint(name, 0)
	if err != nil {
		c.T.Fatalf("failed to mint: %v", err)
	}
	if tok.ID == "" || tok.Secret.Empty() {
		c.T.Fatalf("minted token has ID %q and an empty secret %v; want both set", tok.ID, tok.Secret.Empty())
	}
	return tok
}

// MustRevoke revokes and fails the case on error.
func (c *C) MustRevoke(tok provider.Token) {
	c.T.Helper()
	if err := c.Revoke(tok); err != nil {
		c.T.Fatalf("failed to revoke: %v", err)
	}
}

// runCase runs def and hands its result to record, even when the case
// ends with t.Fatal or t.Skip.
func runCase(t *testing.T, h Harness, def caseDef, record func(CaseResult)) {
	cr := CaseResult{Case: def.name}
	why, skip := h.Skip[def.name]
	if !skip && def.needs != nil {
		why = def.needs(h)
		skip = why != ""
	}
	if skip {
		cr.Outcome = "skip: " + why
		record(cr)
		t.Skip(why)
	}
	m := redact.NewMasker()
	m.Add(h.AdminKey)
	c := &C{T: t, H: h, Masker: m, bytes: &byteCounter{}}
	hc := &http.Client{Transport: &countingTransport{rt: httpx.NewTransport(), c: c.bytes}}
	client := httpx.New(
		httpx.WithHTTPClient(hc),
		httpx.WithTimeout(h.Timeout),
		httpx.WithRetryBudget(2*time.Minute),
		httpx.WithBackoff(time.Millisecond, 10*time.Millisecond),
		httpx.WithMasker(m),
		httpx.WithClock(time.Now, func(ctx context.Context, d time.Duration) error {
			c.mu.Lock()
			c.waits = append(c.waits, d)
			c.mu.Unlock()
			return ctx.Err()
		}),
	)
	inst := h.New(t, Env{HTTP: client, Masker: m, Warnf: c.warnf})
	c.Provider, c.Server = inst.Provider, inst.Server
	defer func() {
		// Record whatever happened, even after t.Fatal.
		cr.Outcome = "pass"
		if t.Failed() {
			cr.Outcome = "FAIL"
		}
		c.mu.Lock()
		if len(c.mintOps) > 0 {
			op := c.mintOps[0]
			cr.Mint = &op
		}
		if len(c.revOps) > 0 {
			op := c.revOps[0]
			cr.Revoke = &op
		}
		cr.Waits = slices.Clone(c.waits)
		c.mu.Unlock()
		record(cr)
	}()
	defer c.checkAfter()
	def.run(c)
}

// checkAfter asserts no orphan, no leaked secret, no workflow command.
func (c *C) checkAfter() {
	t := c.T
	t.Helper()
	c.mu.Lock()
	keep := slices.Clone(c.keep)
	texts := slices.Clone(c.texts)
	errTexts := slices.Clone(c.errTexts)
	secrets := append([]string{c.H.AdminKey}, c.secrets...)
	c.mu.Unlock()
	if n := c.Server.Store.Orphans(keep...); n != 0 {
		var live []string
		for _, r := range c.Server.Store.Live() {
			if !slices.Contains(keep, r.ID) {
				live = append(live, r.ID+" "+r.Name)
			}
		}
		t.Errorf("orphans = %d (%v), want 0", n, live)
	}
	secrets = append(secrets, c.Server.Store.Secrets()...)
	for _, text := range texts {
		for _, s := range secrets {
			for _, form := range redact.Forms(s) {
				if strings.Contains(text, form) {
					t.Errorf("a secret (or an encoding of it) appears in printed text %q", redact.NewMasker().Mask(strings.ReplaceAll(text, form, "<SECRET>")))
				}
			}
		}
	}
	for _, text := range errTexts {
		if msg := commandProblem(text); msg != "" {
			t.Errorf("%s in %q", msg, text)
		}
	}
}

// commandProblem reports why text could issue a workflow command or break
// a log line ("" when it cannot).
func commandProblem(text string) string {
	switch {
	case strings.ContainsAny(text, "\r\n"):
		return "raw line break"
	case strings.HasPrefix(strings.TrimSpace(text), "::"):
		return "line starts with ::"
	case strings.Contains(text, "##["):
		return "contains ##["
	case strings.Contains(text, "::stop-commands::"), strings.Contains(text, "::add-mask::"):
		return "contains a workflow command"
	case strings.Contains(text, "\u2028"), strings.Contains(text, "\u2029"):
		return "contains a Unicode line separator"
	}
	return ""
}

// byteCounter counts response bytes handed to the client.
type byteCounter struct {
	mu   sync.Mutex
	max  int64
	last int64
}

type countingTransport struct {
	rt http.RoundTripper
	c  *byteCounter
}

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.rt.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	resp.Body = &countingBody{ReadCloser: resp.Body, c: t.c}
	return resp, nil
}

type countingBody struct {
	io.ReadCloser
	c *byteCounter
	n int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	b.c.mu.Lock()
	b.c.last = b.n
	b.c.max = max(b.c.max, b.n)
	b.c.mu.Unlock()
	return n, err
}

func (b *countingBody) Close() error { return b.ReadCloser.Close() }

// heapDelta runs f and returns how many bytes the process allocated meanwhile.
func heapDelta(f func()) uint64 {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}
