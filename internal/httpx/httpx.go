// Package httpx is the one HTTP client every service client in tokenmint
// uses: per-request timeouts inside an overall retry budget, proxies from
// the environment, capped body reads, retries that honour Retry-After and
// rate-limit reset headers, and typed errors whose server text is masked
// and neutralized.
package httpx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tokenmint/tokenmint/internal/redact"
)

// Defaults.
const (
	DefaultTimeout     = 30 * time.Second
	DefaultRetryBudget = 60 * time.Second
	DefaultMaxBody     = 1 << 20 // 1 MiB: token APIs answer in kilobytes
	DefaultMaxAttempts = 6
)

// Version is set by the linker (cmd/tokenmint) for the User-Agent.
var Version = "dev"

// Client sends requests with retries. The zero value is not usable: use New.
type Client struct {
	hc          *http.Client
	timeout     time.Duration
	budget      time.Duration
	maxBody     int64
	maxAttempts int
	baseBackoff time.Duration
	maxBackoff  time.Duration
	masker      *redact.Masker
	service     string
	now         func() time.Time
	sleep       func(context.Context, time.Duration) error
	onRetry     func(Retry)
}

// Retry describes a retry about to happen (for progress lines).
type Retry struct {
	Service, Method string
	Attempt         int           // the attempt that failed, from 1
	Wait            time.Duration // before the next attempt
	Err             error         // why (masked like every error of Do)
}

// WithOnRetry calls f before each retry's wait, so long work is never
// silent (the CLI prints a line on stderr).
func WithOnRetry(f func(Retry)) Option { return func(c *Client) { c.onRetry = f } }

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the underlying client (tests inject TLS roots here).
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithTimeout bounds each request attempt, body read included.
func WithTimeout(d time.Duration) Option { return func(c *Client) { c.timeout = d } }

// WithRetryBudget bounds all attempts of one call together, waits included.
func WithRetryBudget(d time.Duration) Option { return func(c *Client) { c.budget = d } }

// WithMaxBody caps how many bytes of a response body are read.
func WithMaxBody(n int64) Option { return func(c *Client) { c.maxBody = n } }

// WithMaxAttempts caps attempts per call (first try included).
func WithMaxAttempts(n int) Option { return func(c *Client) { c.maxAttempts = n } }

// WithBackoff sets the first backoff and its cap.
func WithBackoff(base, max time.Duration) Option {
	return func(c *Client) { c.baseBackoff, c.maxBackoff = base, max }
}

// WithMasker masks registered secrets in server text kept in errors.
func WithMasker(m *redact.Masker) Option { return func(c *Client) { c.masker = m } }

// WithService names the service in error messages ("tooken API: …").
func WithService(name string) Option { return func(c *Client) { c.service = name } }

// WithClock replaces time.Now and the sleeper (tests).
func WithClock(now func() time.Time, sleep func(context.Context, time.Duration) error) Option {
	return func(c *Client) { c.now, c.sleep = now, sleep }
}

// NewTransport returns the transport every client here uses: proxies from
// HTTPS_PROXY/HTTP_PROXY/NO_PROXY, sane dial and handshake bounds.
func NewTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = http.ProxyFromEnvironment
	t.MaxIdleConnsPerHost = 16
	return t
}

// NewHTTPClient returns an *http.Client with NewTransport and no global state.
func NewHTTPClient() *http.Client {
	return &http.Client{Transport: NewTransport(), CheckRedirect: SameHostRedirects}
}

// New returns a Client.
func New(opts ...Option) *Client {
	c := &Client{
		timeout:     DefaultTimeout,
		budget:      DefaultRetryBudget,
		maxBody:     DefaultMaxBody,
		maxAttempts: DefaultMaxAttempts,
		baseBackoff: 250 * time.Millisecond,
		maxBackoff:  8 * time.Second,
		service:     "API",
		now:         time.Now,
		sleep:       Sleep,
	}
	for _, o := range opts {
		o(c)
	}
	if c.hc == nil {
		c.hc = NewHTTPClient()
	}
	// One redirect policy for every client, also one a test injects: a
	// shallow copy shares the transport and changes only CheckRedirect.
	hc := *c.hc
	hc.CheckRedirect = SameHostRedirects
	c.hc = &hc
	return c
}

// With returns a copy of c with more options applied (for example another
// service name on a shared transport).
func (c *Client) With(opts ...Option) *Client {
	cp := *c
	for _, o := range opts {
		o(&cp)
	}
	return &cp
}

// HTTPClient exposes the underlying client (for libraries such as go-github).
func (c *Client) HTTPClient() *http.Client { return c.hc }

// Timeout is the per-attempt bound.
func (c *Client) Timeout() time.Duration { return c.timeout }

// MaxAttempts returns the cap on attempts per call.
func (c *Client) MaxAttempts() int { return c.maxAttempts }

// Masker is the masker server text is filtered through (may be nil).
func (c *Client) Masker() *redact.Masker { return c.masker }

// Request is one call. Body is sent as is (so every retry resends it whole).
type Request struct {
	Method string
	URL    string
	Header http.Header
	Body   []byte
	// Unsafe marks a call that must not be repeated after an ambiguous
	// failure (a create): it is retried only when the server certainly did
	// not act on it (429, a refused connection). POST and PATCH are unsafe
	// unless Safe is set.
	Safe bool
	// OK lists statuses besides 2xx that are not errors (for example 404 on
	// a revoke, which means already gone).
	OK []int
}

// Response is a read, capped response.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r *Request) unsafe() bool {
	if r.Safe {
		return false
	}
	return r.Method == http.MethodPost || r.Method == http.MethodPatch
}

// Do sends req, retrying as the request's safety allows, and returns the
// response of a 2xx (or req.OK) status, or an error: *APIError for other
// statuses, *TransportError for the network.
func (c *Client) Do(ctx context.Context, req *Request) (*Response, error) {
	deadline := c.now().Add(c.budget)
	var lastErr error
	for attempt := 1; ; attempt++ {
		resp, err := c.once(ctx, req)
		if err == nil {
			return resp, nil
		}
		lastErr = err
		wait, retry := c.retryable(req, err, attempt)
		if !retry || attempt >= c.maxAttempts || ctx.Err() != nil {
			return nil, lastErr
		}
		if c.now().Add(wait).After(deadline) {
			return nil, fmt.Errorf("%w (retry budget of %s exhausted)", lastErr, c.budget)
		}
		if c.onRetry != nil {
			c.onRetry(Retry{Service: c.service, Method: req.Method, Attempt: attempt, Wait: wait, Err: lastErr})
		}
		if err := c.sleep(ctx, wait); err != nil {
			return nil, lastErr
		}
	}
}

func (c *Client) once(ctx context.Context, req *Request) (*Response, error) {
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var body io.Reader
	if req.Body != nil {
		body = bytes.NewReader(req.Body)
	}
	hreq, err := http.NewRequestWithContext(actx, req.Method, req.URL, body)
	if err != nil {
		return nil, &TransportError{Service: c.service, Method: req.Method, Err: err}
	}
	for k, vs := range req.Header {
		for _, v := range vs {
			hreq.Header.Add(k, v)
		}
	}
	if hreq.Header.Get("User-Agent") == "" {
		hreq.Header.Set("User-Agent", "tokenmint/"+Version)
	}
	if req.Body != nil && hreq.Header.Get("Content-Type") == "" {
		hreq.Header.Set("Content-Type", "application/json")
	}
	if hreq.Header.Get("Accept") == "" {
		hreq.Header.Set("Accept", "application/json")
	}
	hresp, err := c.hc.Do(hreq)
	if err != nil {
		return nil, &TransportError{Service: c.service, Method: req.Method, Err: stripURL(err), Sent: !isDialError(err), Timeout: isTimeout(err)}
	}
	defer hresp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(hresp.Body, c.maxBody+1))
	if err != nil {
		return nil, &TransportError{Service: c.service, Method: req.Method, Err: fmt.Errorf("failed to read response body: %w", stripURL(err)), Sent: true, Timeout: isTimeout(err), Status: hresp.StatusCode}
	}
	if int64(len(data)) > c.maxBody {
		// Drain nothing more: the connection is closed with the body.
		return nil, &TransportError{Service: c.service, Method: req.Method, Err: fmt.Errorf("%w: more than %d bytes", ErrBodyTooLarge, c.maxBody), Sent: true, Status: hresp.StatusCode}
	}
	resp := &Response{Status: hresp.StatusCode, Header: hresp.Header, Body: data}
	if hresp.StatusCode/100 == 2 {
		return resp, nil
	}
	for _, ok := range req.OK {
		if hresp.StatusCode == ok {
			return resp, nil
		}
	}
	return nil, c.apiError(resp)
}

// retryable decides whether err warrants another attempt and how long to wait.
func (c *Client) retryable(req *Request, err error, attempt int) (time.Duration, bool) {
	backoff := c.backoff(attempt)
	var ae *APIError
	if errors.As(err, &ae) {
		if ae.RateLimited() {
			if ae.RetryAfter > 0 {
				return ae.RetryAfter, true
			}
			return backoff, true
		}
		if ae.Status >= 500 && !req.unsafe() {
			return backoff, true
		}
		return 0, false
	}
	var te *TransportError
	if errors.As(err, &te) {
		if errors.Is(te.Err, ErrBodyTooLarge) {
			return 0, false
		}
		if !te.Sent || !req.unsafe() {
			return backoff, true
		}
	}
	return 0, false
}

func (c *Client) backoff(attempt int) time.Duration {
	return Backoff(c.baseBackoff, c.maxBackoff, attempt)
}

func (c *Client) apiError(resp *Response) *APIError {
	e := &APIError{Service: c.service, Status: resp.Status, RequestID: firstHeader(resp.Header, "X-Request-Id", "X-GitHub-Request-Id", "Request-Id")}
	body := resp.Body
	if c.masker != nil {
		// Before parsing: parseErrorBody cuts a plain body to 200 bytes,
		// and a secret cut in two would no longer match the masker.
		body = []byte(c.masker.Mask(string(body)))
	}
	e.Code, e.Message = parseErrorBody(body)
	if resp.Status/100 == 3 {
		// A redirect SameHostRedirects refused (or one without Location).
		e.Code, e.Message = "", "redirect not followed: "+redirectHint(resp.Header.Get("Location"))
	}
	if c.masker != nil {
		e.Code = c.masker.Mask(e.Code)
		e.Message = c.masker.Mask(e.Message)
		e.RequestID = c.masker.Mask(e.RequestID)
	}
	e.Code = redact.Neutralize(e.Code)
	e.Message = redact.Neutralize(e.Message)
	e.RequestID = redact.Neutralize(e.RequestID)
	e.RetryAfter, e.rateLimited = rateLimitWait(resp, c.now())
	if d, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
		e.Date = d
	}
	return e
}

// rateLimitWait reads Retry-After (seconds or HTTP date) and, for a 429 or a
// 403 that says the limit is spent, X-RateLimit-Reset (Unix seconds).
func rateLimitWait(resp *Response, now time.Time) (time.Duration, bool) {
	h := resp.Header
	limited := resp.Status == http.StatusTooManyRequests
	if v := h.Get("Retry-After"); v != "" {
		if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
			return time.Duration(s) * time.Second, limited || resp.Status == http.StatusForbidden || resp.Status == http.StatusServiceUnavailable
		}
		if t, err := http.ParseTime(v); err == nil {
			d := t.Sub(now)
			if d < 0 {
				d = 0
			}
			return d, limited || resp.Status == http.StatusForbidden || resp.Status == http.StatusServiceUnavailable
		}
	}
	spent := h.Get("X-RateLimit-Remaining") == "0"
	if resp.Status == http.StatusForbidden && spent {
		limited = true
	}
	if limited {
		if v := h.Get("X-RateLimit-Reset"); v != "" {
			if s, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
				d := time.Unix(s, 0).Sub(now) + time.Second
				if d < 0 {
					d = 0
				}
				return d, true
			}
		}
	}
	return 0, limited
}

func firstHeader(h http.Header, names ...string) string {
	for _, n := range names {
		if v := h.Get(n); v != "" {
			return v
		}
	}
	return ""
}

func isDialError(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	return false
}

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// redirectHint says where a refused redirect pointed (its origin only) and
// what to change.
func redirectHint(location string) string {
	const rule = "tokenmint sends credentials only to the scheme, host and port of the configured URL; if the service moved, set the URL to its new address"
	u, err := url.Parse(location)
	if err != nil || u.Host == "" {
		return rule
	}
	return fmt.Sprintf("it pointed to %s://%s; %s", u.Scheme, u.Host, rule)
}
