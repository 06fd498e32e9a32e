package relay

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
)

// TestRelay_NotAnsweredIsNotReplay is the lost event: GitHub
// answers 503 Retry-After: 20. The relay must not answer 2xx; it passes
// the wait on, forgets nothing, and accepts the sender's retry.
func TestRelay_NotAnsweredIsNotReplay(t *testing.T) {
	t.Parallel()
	tr := newTestRelay(t, nil)
	down := true
	tr.gh.respond = func(repo string, n int, w http.ResponseWriter) bool {
		tr.gh.mu.Lock()
		defer tr.gh.mu.Unlock()
		if !down {
			return false
		}
		w.Header().Set("Retry-After", "20")
		w.WriteHeader(http.StatusServiceUnavailable)
		return true
	}
	body := webhook("token.expiring", testNow.Format(time.RFC3339), "tok_1", "n")
	st, hdr := tr.postResp(t, body, s1(body))
	if st != http.StatusServiceUnavailable || hdr.Get("Retry-After") != "20" {
		t.Fatalf("while GitHub is down: status %d, Retry-After %q; want 503, 20", st, hdr.Get("Retry-After"))
	}
	if got := len(tr.gh.dispatches()); got != 0 {
		t.Fatalf("dispatched %d while GitHub was down", got)
	}
	tr.gh.mu.Lock()
	down = false
	tr.gh.mu.Unlock()
	if st := tr.post(t, body, s1(body)); st != http.StatusOK {
		t.Fatalf("sender's retry: status %d, want 200", st)
	}
	if st := tr.post(t, body, s1(body)); st != http.StatusConflict {
		t.Errorf("replay after delivery: status %d, want 409", st)
	}
	tr.drain(t)
	calls := map[string]int{}
	for _, d := range tr.gh.dispatches() {
		calls[d.Repo]++
	}
	if diff := cmp.Diff(map[string]int{"octo/app": 1, "octo/api": 1}, calls); diff != "" {
		t.Errorf("dispatches (-want +got):\n%s", diff)
	}
}

// TestRelay_FinalRefusalThenRetrySendsOnlyMissing: GitHub refuses one of
// two dispatches for good (404). The webhook is answered 502 naming the
// repository, the operator sees it (error log, /healthz), and once fixed
// the sender's retry sends only the missing dispatch.
func TestRelay_FinalRefusalThenRetrySendsOnlyMissing(t *testing.T) {
	t.Parallel()
	tr := newTestRelay(t, nil)
	tr.gh.respond = func(repo string, n int, w http.ResponseWriter) bool {
		if repo == "octo/api" && n == 1 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"message":"Not Found"}`)
			return true
		}
		return false
	}
	body := webhook("token.expiring", testNow.Format(time.RFC3339), "tok_1", "n")
	req, _ := http.NewRequest(http.MethodPost, tr.srv.URL+"/webhook", strings.NewReader(string(body)))
	req.Header.Set(SignatureHeader, s1(body))
	resp, err := tr.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var answer struct {
		Error  string    `json:"error"`
		Failed []failure `json:"failed"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&answer)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("status %d, want 502", resp.StatusCode)
	}
	if diff := cmp.Diff([]failure{{Repository: "octo/api", Status: 404}}, answer.Failed); diff != "" {
		t.Errorf("failed (-want +got):\n%s", diff)
	}
	hresp, err := tr.srv.Client().Get(tr.srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	var health map[string]any
	_ = json.NewDecoder(hresp.Body).Decode(&health)
	hresp.Body.Close()
	if health["rejected_by_github"] != float64(1) {
		t.Errorf("healthz %v: want rejected_by_github 1", health)
	}
	if !strings.Contains(tr.logs.String(), `"level":"ERROR","msg":"dispatch refused by GitHub"`) {
		t.Errorf("no error log line for the refused dispatch")
	}
	if st := tr.post(t, body, s1(body)); st != http.StatusOK {
		t.Fatalf("retry: status %d, want 200", st)
	}
	tr.drain(t)
	if got, want := tr.gh.callCount("octo/app"), 1; got != want {
		t.Errorf("octo/app called %d times, want %d (the retry must not resend it)", got, want)
	}
	if got, want := tr.gh.callCount("octo/api"), 2; got != want {
		t.Errorf("octo/api called %d times, want %d", got, want)
	}
	if got := tr.Stats().Resumed; got != 1 {
		t.Errorf("resumed = %d, want 1", got)
	}
}

// TestRelay_BusyWhileInFlight: a copy of a delivery that arrives while the
// first is being dispatched is asked to retry (503), never refused as a
// replay (409) and never dispatched twice.
func TestRelay_BusyWhileInFlight(t *testing.T) {
	t.Parallel()
	tr := newTestRelay(t, nil)
	entered, release := tr.blockGitHub(t)
	body := webhook("token.revoked", testNow.Format(time.RFC3339), "tok_1", "n")
	first := tr.postAsync(t, body)
	<-entered
	st, hdr := tr.postResp(t, body, s2(body)) // same body, the other secret
	if st != http.StatusServiceUnavailable || hdr.Get("Retry-After") != "1" {
		t.Errorf("copy in flight: status %d, Retry-After %q; want 503, 1", st, hdr.Get("Retry-After"))
	}
	release()
	if st := <-first; st != http.StatusOK {
		t.Fatalf("first: status %d, want 200", st)
	}
	if st := tr.post(t, body, s2(body)); st != http.StatusConflict {
		t.Errorf("after delivery: status %d, want 409", st)
	}
	tr.drain(t)
	if got := tr.gh.callCount("octo/app"); got != 1 {
		t.Errorf("octo/app called %d times, want 1", got)
	}
}

// TestRelay_StoreUnreachableFailsClosed: with Redis down the relay answers
// 503 and dispatches nothing.
func TestRelay_StoreUnreachableFailsClosed(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	tr := newTestRelay(t, func(c *Config) { c.Redis = &redis.Options{Addr: addr, Password: "hunter2-redis-password"} })
	body := webhook("token.expiring", testNow.Format(time.RFC3339), "tok_1", "n")
	st, hdr := tr.postResp(t, body, s1(body))
	if st != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" {
		t.Errorf("status %d, Retry-After %q; want 503 with a Retry-After", st, hdr.Get("Retry-After"))
	}
	tr.drain(t)
	if got := tr.gh.callCount("octo/app") + tr.gh.callCount("octo/api"); got != 0 {
		t.Errorf("dispatched %d without the replay store", got)
	}
	logs := tr.logs.String()
	if !strings.Contains(logs, "replay store unavailable") {
		t.Errorf("logs do not say the store is unavailable")
	}
	if strings.Contains(logs, "hunter2") {
		t.Errorf("logs hold the Redis password")
	}
}

// TestRelay_BodyLimits: large bodies take one of few slots without
// waiting, a body that stalls is cut at BodyTimeout, and a small signed
// webhook gets through while the large slots are held.
func TestRelay_BodyLimits(t *testing.T) {
	t.Parallel()
	tr := newTestRelay(t, func(c *Config) {
		c.MaxLargeBodies = 1
		c.SmallBody = 1 << 10
		c.BodyTimeout = 2 * time.Second
	})
	addr := strings.TrimPrefix(tr.srv.URL, "http://")
	// rawPost sends headers and part of a body, then stalls; it returns
	// the status line the relay answers with.
	rawPost := func(headers, partial string) (net.Conn, <-chan string) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		// Read while writing: the relay may answer (and close) before it
		// has read everything, and the answer must not be lost to the
		// reset that follows.
		ch := make(chan string, 1)
		go func() {
			line, _ := bufio.NewReader(c).ReadString('\n')
			ch <- strings.TrimSpace(line)
		}()
		go fmt.Fprintf(c, "POST /webhook HTTP/1.1\r\nHost: relay\r\n%s\r\n%s", headers, partial)
		return c, ch
	}
	// A stalled large body holds the only large slot until its deadline.
	_, stalled := rawPost("Content-Length: 4096\r\n", strings.Repeat("x", 2000))
	// Wait until it holds the slot.
	waitUntil(t, "the stalled body holds the large slot", func() bool { return len(tr.large) == 1 })
	_, second := rawPost("Content-Length: 4096\r\n", strings.Repeat("x", 10))
	if got := <-second; got != "HTTP/1.1 503 Service Unavailable" {
		t.Errorf("second large body: %q, want 503", got)
	}
	small := webhook("token.revoked", testNow.Format(time.RFC3339), "tok_small", "n")
	if st := tr.post(t, small, s1(small)); st != http.StatusOK {
		t.Errorf("small signed webhook while the large slot is held: %d, want 200", st)
	}
	if got := <-stalled; got != "HTTP/1.1 408 Request Timeout" {
		t.Errorf("stalled body: %q, want 408", got)
	}
	// Chunked: past SmallBody it needs the slot (free again), past
	// MaxBody it is refused.
	waitUntil(t, "the large slot is free again", func() bool { return len(tr.large) == 0 })
	_, chunked := rawPost("Transfer-Encoding: chunked\r\n", fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", 2<<20, strings.Repeat("y", 2<<20)))
	if got := <-chunked; got != "HTTP/1.1 413 Request Entity Too Large" {
		t.Errorf("chunked body over MaxBody: %q, want 413", got)
	}
	_, declared := rawPost(fmt.Sprintf("Content-Length: %d\r\n", 2<<20), "")
	if got := <-declared; got != "HTTP/1.1 413 Request Entity Too Large" {
		t.Errorf("declared body over MaxBody: %q, want 413", got)
	}
}
