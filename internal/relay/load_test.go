package relay

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenmint/tokenmint/internal/redact"
)

// Load test: drives two relay replicas sharing a real redis-server, round
// robin over real 127.0.0.1 sockets, with a fake GitHub that answers each
// dispatch after 200 ms, and checks that no signed event is lost or
// duplicated, that no forged one dispatches anything and that every replay
// (sent to the other replica) is refused. Opt-in, bounded in count and
// time:
//
//	TOKENMINT_RELAY_LOAD=1 go test -run 'TestLoad$' -v ./internal/relay/
//
// Knobs (env): TOKENMINT_RELAY_LOAD_EVENTS (signed events, default 5000),
// TOKENMINT_RELAY_LOAD_FORGED (default 2000), TOKENMINT_RELAY_LOAD_REPLAYS
// (default 1000), TOKENMINT_RELAY_LOAD_CLIENTS (default 192),
// TOKENMINT_RELAY_LOAD_REPLICAS (default 2; 1 uses the in-memory store),
// TOKENMINT_RELAY_LOAD_CONCURRENCY (GitHub requests per replica, default
// 192), TOKENMINT_RELAY_LOAD_CPUS (GOMAXPROCS, default 2),
// TOKENMINT_RELAY_LOAD_GITHUB_LATENCY (fake GitHub delay, default 200ms).
// The whole run is cut off after 2 minutes.

// loadGitHub is a fake repository_dispatch endpoint that counts deliveries
// per (token id, repository).
type loadGitHub struct {
	mu      sync.Mutex
	counts  map[string]int
	leaks   int
	latency time.Duration
	total   atomic.Int64
}

func (g *loadGitHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if g.latency > 0 {
		time.Sleep(g.latency)
	}
	var req struct {
		ClientPayload struct {
			ID string `json:"id"`
		} `json:"client_payload"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	leak := bytes.Contains(body, []byte(testSecret1)) || bytes.Contains(body, []byte(testSecret2)) || bytes.Contains(body, []byte(testToken))
	g.mu.Lock()
	g.counts[req.ClientPayload.ID+" "+r.PathValue("owner")+"/"+r.PathValue("repo")]++
	if leak {
		g.leaks++
	}
	g.mu.Unlock()
	g.total.Add(1)
	w.WriteHeader(http.StatusNoContent)
}

type loadRequest struct {
	body    []byte
	sig     string
	kind    string       // signed, forged, replay
	replica int          // which replica it is sent to
	orig    *loadRequest // a replay's original
	status  int
	lat     time.Duration
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v >= 0 {
		return v
	}
	return def
}

// startLoadRelays serves n relays on real 127.0.0.1 listeners in front of
// one loadGitHub, also on a real socket. With redisURL they share it
// (under prefix); without, n must be 1.
func startLoadRelays(tb testing.TB, n, concurrency int, latency time.Duration, redisURL, prefix string) ([]*Relay, *loadGitHub, []string, func()) {
	tb.Helper()
	gh := &loadGitHub{counts: map[string]int{}, latency: latency}
	mux := http.NewServeMux()
	mux.Handle("POST /repos/{owner}/{repo}/dispatches", gh)
	ghSrv := httptest.NewServer(mux)
	ghSrv.Config.MaxHeaderBytes = 1 << 20
	routes, err := ParseRoutes([]byte(testRoutesYAML))
	if err != nil {
		tb.Fatal(err)
	}
	var relays []*Relay
	var urls []string
	var stops []func()
	for range n {
		cfg := Config{
			Routes:       routes,
			Secrets:      []redact.Secret{testSecret1, testSecret2},
			GitHubToken:  testToken,
			GitHubAPIURL: ghSrv.URL,
			Concurrency:  concurrency,
			MaxInFlight:  1024,
			RedisPrefix:  prefix,
			Logger:       slog.New(slog.NewJSONHandler(io.Discard, nil)),
		}
		if redisURL != "" {
			if cfg.Redis, err = ParseRedisURL(redisURL); err != nil {
				tb.Fatal(err)
			}
		}
		r, err := New(cfg)
		if err != nil {
			tb.Fatal(err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		srv := &http.Server{Handler: r.Handler(), ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = srv.Serve(newLimitListener(ln, DefaultMaxConnections)) }()
		relays = append(relays, r)
		urls = append(urls, "http://"+ln.Addr().String()+"/webhook")
		stops = append(stops, func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := srv.Shutdown(ctx); err != nil {
				tb.Errorf("server shutdown: %v", err)
			}
			if err := r.Shutdown(ctx); err != nil {
				tb.Errorf("relay shutdown: %v", err)
			}
		})
	}
	stop := func() {
		for _, s := range stops {
			s()
		}
		ghSrv.Close()
	}
	return relays, gh, urls, stop
}

func loadClient(conns int) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.MaxIdleConns = conns
	tr.MaxIdleConnsPerHost = conns
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

func TestLoad(t *testing.T) {
	if os.Getenv("TOKENMINT_RELAY_LOAD") == "" {
		t.Skip("set TOKENMINT_RELAY_LOAD=1 to run the load test")
	}
	// Not parallel: it sets GOMAXPROCS for the whole process.
	cpus := envInt("TOKENMINT_RELAY_LOAD_CPUS", 2)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(cpus))
	nSigned := envInt("TOKENMINT_RELAY_LOAD_EVENTS", 5000)
	nForged := envInt("TOKENMINT_RELAY_LOAD_FORGED", 2000)
	nReplay := min(envInt("TOKENMINT_RELAY_LOAD_REPLAYS", 1000), nSigned)
	clients := max(envInt("TOKENMINT_RELAY_LOAD_CLIENTS", 192), 1)
	replicas := max(envInt("TOKENMINT_RELAY_LOAD_REPLICAS", 2), 1)
	concurrency := max(envInt("TOKENMINT_RELAY_LOAD_CONCURRENCY", 192), 1)
	latency := 200 * time.Millisecond
	if v := os.Getenv("TOKENMINT_RELAY_LOAD_GITHUB_LATENCY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("TOKENMINT_RELAY_LOAD_GITHUB_LATENCY: %v", err)
		}
		latency = d
	}
	deadline := time.Now().Add(2 * time.Minute)
	var redisURL, prefix string
	if replicas > 1 {
		redisURL, prefix = testRedis(t)
	}
	relays, gh, urls, stop := startLoadRelays(t, replicas, concurrency, latency, redisURL, prefix)
	stopped := false
	defer func() {
		if !stopped {
			stop()
		}
	}()

	// Build the traffic: signed events (half per secret, both header
	// forms), forged ones (wrong secret, truncated signature, tampered
	// body, no signature) and replays of signed bodies.
	now := time.Now().UTC()
	reqs := make([]*loadRequest, 0, nSigned+nForged+nReplay)
	signed := make([]*loadRequest, 0, nSigned)
	for i := range nSigned {
		body := webhook("token.expiring", now.Format(time.RFC3339), fmt.Sprintf("tok_ok_%d", i), "load")
		sig := Sign(body, testSecret1)
		if i%2 == 1 {
			sig = bareSign(body, testSecret2)
		}
		lr := &loadRequest{body: body, sig: sig, kind: "signed"}
		reqs = append(reqs, lr)
		signed = append(signed, lr)
	}
	for i := range nForged {
		body := webhook("token.expiring", now.Format(time.RFC3339), fmt.Sprintf("tok_forged_%d", i), "load")
		var sig string
		switch i % 4 {
		case 0:
			sig = Sign(body, "whsec_attacker-0000000000000000")
		case 1:
			sig = Sign(body, testSecret1)[:40]
		case 2:
			other := webhook("token.expiring", now.Format(time.RFC3339), "tok_other", "load")
			sig = Sign(other, testSecret1)
		case 3:
			sig = ""
		}
		reqs = append(reqs, &loadRequest{body: body, sig: sig, kind: "forged"})
	}
	rng := rand.New(rand.NewPCG(1, 2))
	rng.Shuffle(len(reqs), func(i, j int) { reqs[i], reqs[j] = reqs[j], reqs[i] })
	// Replays go last so that their original has been accepted already:
	// every one of them must then be refused (409).
	for i := range nReplay {
		s := signed[i*len(signed)/max(nReplay, 1)]
		reqs = append(reqs, &loadRequest{body: s.body, sig: s.sig, kind: "replay", orig: s})
	}

	client := loadClient(clients)
	// Round robin over the replicas; a replay goes to another replica
	// than its original.
	for i, lr := range reqs[:nSigned+nForged] {
		lr.replica = i % replicas
	}
	for _, lr := range reqs[nSigned+nForged:] {
		lr.replica = (lr.orig.replica + 1) % replicas
	}
	send := func(lr *loadRequest) {
		req, _ := http.NewRequest(http.MethodPost, urls[lr.replica], bytes.NewReader(lr.body))
		if lr.sig != "" {
			req.Header.Set(SignatureHeader, lr.sig)
		}
		start := time.Now()
		resp, err := client.Do(req)
		lr.lat = time.Since(start)
		if err != nil {
			lr.status = -1
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		lr.status = resp.StatusCode
	}
	runPhase := func(batch []*loadRequest) {
		work := make(chan *loadRequest)
		var wg sync.WaitGroup
		for range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for lr := range work {
					send(lr)
				}
			}()
		}
		for _, lr := range batch {
			if time.Now().After(deadline) {
				break
			}
			work <- lr
		}
		close(work)
		wg.Wait()
	}
	mainReqs := reqs[:nSigned+nForged]
	start := time.Now()
	runPhase(mainReqs)
	intake := time.Since(start)
	runPhase(reqs[nSigned+nForged:])
	sendDone := time.Since(start)
	stop()
	stopped = true
	drained := time.Since(start)
	if time.Now().After(deadline) {
		t.Fatalf("load test hit its 2 minute bound")
	}

	statuses := map[string]map[int]int{}
	var lats []time.Duration
	for _, lr := range reqs {
		if statuses[lr.kind] == nil {
			statuses[lr.kind] = map[int]int{}
		}
		statuses[lr.kind][lr.status]++
		lats = append(lats, lr.lat)
	}
	slices.Sort(lats)
	pct := func(p float64) time.Duration { return lats[min(len(lats)-1, int(float64(len(lats))*p))] }

	// Exactly once: each signed event once in each of its two repos; no
	// forged token anywhere.
	gh.mu.Lock()
	lost, dup, forged := 0, 0, 0
	for i := range nSigned {
		for _, repo := range []string{"octo/app", "octo/api"} {
			switch c := gh.counts[fmt.Sprintf("tok_ok_%d %s", i, repo)]; {
			case c == 0:
				lost++
			case c > 1:
				dup += c - 1
			}
		}
	}
	for k, c := range gh.counts {
		if len(k) > 10 && k[:10] == "tok_forged" {
			forged += c
		}
	}
	leaks := gh.leaks
	gh.mu.Unlock()

	var st []Stats
	var ambiguous int64
	for _, r := range relays {
		st = append(st, r.Stats())
		ambiguous += r.Stats().Ambiguous
	}
	store := "in-memory store"
	if replicas > 1 {
		store = "one real redis-server"
	}
	t.Logf("GOMAXPROCS=%d (machine has %d CPUs), %d clients, %d replicas sharing %s, fake GitHub latency %v, GitHub concurrency %d per replica",
		runtime.GOMAXPROCS(0), runtime.NumCPU(), clients, replicas, store, latency, concurrency)
	t.Logf("requests: %d signed, %d forged, %d replays; statuses %v", nSigned, nForged, nReplay, statuses)
	var signedLats []time.Duration
	for _, lr := range reqs[:nSigned+nForged] {
		if lr.kind == "signed" {
			signedLats = append(signedLats, lr.lat)
		}
	}
	slices.Sort(signedLats)
	spct := func(p float64) time.Duration {
		return signedLats[min(len(signedLats)-1, int(float64(len(signedLats))*p))]
	}
	t.Logf("main phase: %d requests (%d signed) in %v = %.0f req/s, %.0f signed webhooks/s answered 2xx after their dispatches; all sent in %v; stopped at %v",
		len(mainReqs), nSigned, intake.Round(time.Millisecond), float64(len(mainReqs))/intake.Seconds(), float64(statuses["signed"][http.StatusOK])/intake.Seconds(),
		sendDone.Round(time.Millisecond), drained.Round(time.Millisecond))
	t.Logf("latency, all requests: p50 %v, p90 %v, p99 %v, max %v", pct(0.50), pct(0.90), pct(0.99), lats[len(lats)-1])
	t.Logf("latency, signed webhooks (answer after both dispatches): p50 %v, p99 %v, max %v", spct(0.50), spct(0.99), signedLats[len(signedLats)-1])
	t.Logf("dispatches: %d delivered (want %d), %d lost, %d duplicated, %d for forged events, %d payloads with a secret, %d ambiguous attempts",
		gh.total.Load(), 2*nSigned, lost, dup, forged, leaks, ambiguous)
	t.Logf("relay stats per replica: %+v", st)

	if got := statuses["signed"][http.StatusOK]; got != nSigned {
		t.Errorf("signed answered 200 = %d, want %d", got, nSigned)
	}
	if got := statuses["forged"][http.StatusUnauthorized]; got != nForged {
		t.Errorf("forged refused with 401 = %d, want %d", got, nForged)
	}
	if got := statuses["replay"][http.StatusConflict]; got != nReplay {
		t.Errorf("replays refused with 409 = %d, want %d", got, nReplay)
	}
	if lost != 0 || dup != 0 || forged != 0 || leaks != 0 {
		t.Errorf("lost %d, duplicated %d, forged dispatched %d, leaks %d: want all 0", lost, dup, forged, leaks)
	}
	if got := gh.total.Load(); got != int64(2*nSigned) {
		t.Errorf("fake GitHub received %d dispatches, want %d", got, 2*nSigned)
	}
}

// BenchmarkRelay_Webhook measures one signed webhook end to end over a real
// 127.0.0.1 socket: POST, verify, replay check, both dispatches to an
// instant fake GitHub, answer (200), with the in-memory store.
//
//	go test -run '^$' -bench BenchmarkRelay -cpu 2 ./internal/relay/
func BenchmarkRelay_Webhook(b *testing.B) {
	_, gh, urls, stop := startLoadRelays(b, 1, 64, 0, "", "")
	url := urls[0]
	client := loadClient(64)
	now := time.Now().UTC().Format(time.RFC3339)
	bodies := make([][]byte, b.N)
	sigs := make([]string, b.N)
	for i := range b.N {
		bodies[i] = webhook("token.expiring", now, fmt.Sprintf("tok_b_%d", i), "bench")
		sigs[i] = Sign(bodies[i], testSecret1)
	}
	var next atomic.Int64
	var mu sync.Mutex
	var lats []time.Duration
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var local []time.Duration
		for pb.Next() {
			i := next.Add(1) - 1
			req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(bodies[i]))
			req.Header.Set(SignatureHeader, sigs[i])
			start := time.Now()
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			local = append(local, time.Since(start))
			if resp.StatusCode != http.StatusOK {
				b.Errorf("status %d", resp.StatusCode)
			}
		}
		mu.Lock()
		lats = append(lats, local...)
		mu.Unlock()
	})
	b.StopTimer()
	stop()
	if got, want := gh.total.Load(), int64(2*b.N); got != want {
		b.Errorf("dispatched %d, want %d", got, want)
	}
	slices.Sort(lats)
	if len(lats) > 0 {
		b.ReportMetric(float64(lats[len(lats)*99/100].Microseconds()), "p99-µs")
		b.ReportMetric(float64(lats[len(lats)/2].Microseconds()), "p50-µs")
	}
}

// BenchmarkVerifySignature is the per-request HMAC cost with two secrets.
func BenchmarkVerifySignature(b *testing.B) {
	body := webhook("token.expiring", "2026-11-23T17:00:00Z", "tok_1", "n")
	sig := Sign(body, testSecret2)
	secrets := []redact.Secret{testSecret1, testSecret2}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := VerifySignature(body, sig, secrets); !ok {
			b.Fatal("signature did not verify")
		}
	}
}
