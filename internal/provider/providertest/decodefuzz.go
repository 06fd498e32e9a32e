package providertest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenmint/tokenmint/internal/httpx"
	"github.com/tokenmint/tokenmint/internal/ledger"
	"github.com/tokenmint/tokenmint/internal/provider"
)

// decodeServer is the process-wide server CheckDecode scripts.
type decodeServer struct {
	once   sync.Once
	srv    *httptest.Server
	mu     sync.Mutex
	bodies [][]byte
	status int
	n      int
}

var decodeSrv decodeServer

// serve answers request n of the current call with bodies[min(n, last)]:
// the last with the scripted status, earlier ones with 200.
func (d *decodeServer) serve(w http.ResponseWriter, _ *http.Request) {
	d.mu.Lock()
	i := d.n
	d.n++
	code := http.StatusOK
	if i >= len(d.bodies)-1 {
		i = len(d.bodies) - 1
		code = d.status
	}
	body := d.bodies[i]
	d.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

// FuzzStatuses are the statuses a decode fuzz target picks from.
var FuzzStatuses = []int{200, 201, 204, 200, 400, 401, 403, 404, 409, 410, 422, 429, 500, 503}

// CheckDecode runs a provider's every call against a server that answers
// with fuzzed bodies, and fails when it panics, mints or rotates a token
// without an ID or a secret, lists a token that carries a secret, or puts
// the admin key in an error. Request i of a call is answered with
// bodies[min(i, len(bodies)-1)]; the last body is sent with status
// FuzzStatuses[status%len], earlier ones with 200 (so a provider that
// looks something up before it creates reaches its create decoding).
// newProvider gets the server's URL and an HTTP client without retries.
// It shares one server per process: do not call it from parallel tests.
func CheckDecode(t *testing.T, newProvider func(apiURL string, hc *httpx.Client) (provider.Provider, error), req provider.MintRequest, adminKey string, status uint8, bodies ...[]byte) {
	t.Helper()
	// One server per process, reused by every call (a fuzz worker calls
	// the target sequentially): a server and connections per input would
	// spend the run on sockets.
	decodeSrv.once.Do(func() {
		decodeSrv.srv = httptest.NewServer(http.HandlerFunc(decodeSrv.serve))
	})
	decodeSrv.mu.Lock()
	decodeSrv.bodies, decodeSrv.status, decodeSrv.n = bodies, FuzzStatuses[int(status)%len(FuzzStatuses)], 0
	decodeSrv.mu.Unlock()
	reset := func() {
		decodeSrv.mu.Lock()
		decodeSrv.n = 0
		decodeSrv.mu.Unlock()
	}
	hc := httpx.New(
		httpx.WithHTTPClient(decodeSrv.srv.Client()),
		httpx.WithMaxAttempts(1),
		httpx.WithTimeout(10*time.Second),
		httpx.WithMaxBody(64<<10),
		httpx.WithClock(time.Now, func(context.Context, time.Duration) error { return nil }),
	)
	p, err := newProvider(decodeSrv.srv.URL, hc)
	if err != nil {
		t.Fatalf("failed to build the provider: %v", err)
	}
	ctx := context.Background()
	noKey := func(op string, err error) {
		t.Helper()
		if err != nil && adminKey != "" && strings.Contains(err.Error(), adminKey) {
			t.Fatalf("%s: error holds the admin key: %v", op, err)
		}
	}
	minted := func(op string, tok *provider.Token, err error) {
		t.Helper()
		noKey(op, err)
		if err != nil {
			return
		}
		if tok == nil || tok.ID == "" || tok.Secret.Empty() {
			t.Fatalf("%s succeeded without a token ID and secret: %+v", op, tok)
		}
	}

	reset()
	tok, err := p.Mint(ctx, req)
	minted("Mint", tok, err)

	reset()
	list, err := p.List(ctx, req.Name)
	noKey("List", err)
	if err == nil {
		for _, lt := range list {
			if !lt.Secret.Empty() {
				t.Fatalf("List returned token %q with its secret", lt.ID)
			}
		}
	}

	if r, ok := p.(provider.Rotator); ok {
		reset()
		tok, err := r.Rotate(ctx, "tok_1")
		minted("Rotate", tok, err)
	}

	reset()
	noKey("Revoke", p.Revoke(ctx, provider.Token{ID: "tok_1", Secret: "ghs_fuzzrevoke0000"}))

	reset()
	l, lerr := ledger.New(ledger.Options{Prefix: req.Name})
	if lerr != nil {
		t.Fatalf("failed to make a ledger: %v", lerr)
	}
	tok, err = ledger.Mint(ctx, p, req, l, ledger.MintOptions{Sleep: func(context.Context, time.Duration) error { return nil }})
	minted("ledger.Mint", tok, err)
}
