package relay

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

	"github.com/tokenmint/tokenmint/internal/redact"
)

func payload(id, name, event string, ts time.Time) map[string]any {
	return map[string]any{"id": id, "name": name, "event": event, "timestamp": ts.Format(time.RFC3339)}
}

// withoutDelivery drops the delivery_id (a hash) before comparing.
func withoutDelivery(ds []dispatch) []dispatch {
	out := make([]dispatch, len(ds))
	for i, d := range ds {
		cp := map[string]any{}
		for k, v := range d.ClientPayload {
			if k != "delivery_id" {
				cp[k] = v
			}
		}
		out[i] = dispatch{Repo: d.Repo, EventType: d.EventType, ClientPayload: cp}
	}
	return out
}

func TestRelay_Webhook(t *testing.T) {
	t.Parallel()
	ts := testNow.Add(-30 * time.Second)
	expiring := webhook("token.expiring", ts.Format(time.RFC3339), "tok_123", "deploy-key")
	expiringBoth := []dispatch{
		{Repo: "octo/api", EventType: "tooken.token.expiring", ClientPayload: payload("tok_123", "deploy-key", "token.expiring", ts)},
		{Repo: "octo/app", EventType: "tooken.token.expiring", ClientPayload: payload("tok_123", "deploy-key", "token.expiring", ts)},
	}
	sigTyped := []byte(fmt.Sprintf(`{"type":"token.revoked","timestamp":%d,"data":{"id":"tok_9","name":"n"}}`, ts.Unix()))
	huge := []byte(`{"event":"token.expiring","timestamp":"` + ts.Format(time.RFC3339) + `","data":{"id":"tok_1","pad":"` + strings.Repeat("x", 1<<20) + `"}}`)
	cases := []struct {
		name   string
		body   []byte
		sig    func(body []byte) string
		status int
		want   []dispatch
	}{
		{name: "valid_prefixed_signature", body: expiring, sig: func(b []byte) string { return Sign(b, testSecret1) }, status: 200, want: expiringBoth},
		{name: "valid_bare_signature", body: expiring, sig: func(b []byte) string { return bareSign(b, testSecret1) }, status: 200, want: expiringBoth},
		{name: "uppercase_hex_and_prefix", body: expiring, sig: func(b []byte) string { return "SHA256=" + strings.ToUpper(bareSign(b, testSecret1)) }, status: 200, want: expiringBoth},
		{name: "second_secret_rotation", body: expiring, sig: func(b []byte) string { return Sign(b, testSecret2) }, status: 200, want: expiringBoth},
		{name: "type_field_and_unix_seconds", body: sigTyped, sig: func(b []byte) string { return Sign(b, testSecret1) }, status: 200, want: []dispatch{
			{Repo: "octo/app", EventType: "tokenmint-token.revoked", ClientPayload: payload("tok_9", "n", "token.revoked", ts.Truncate(time.Second))},
		}},
		{name: "missing_signature", body: expiring, sig: func([]byte) string { return "-" }, status: 401},
		{name: "empty_signature", body: expiring, sig: func([]byte) string { return "" }, status: 401},
		{name: "bad_signature", body: expiring, sig: func(b []byte) string { return "sha256=" + strings.Repeat("0", 64) }, status: 401},
		{name: "truncated_signature", body: expiring, sig: func(b []byte) string { return Sign(b, testSecret1)[:40] }, status: 401},
		{name: "signature_with_extra_digits", body: expiring, sig: func(b []byte) string { return Sign(b, testSecret1) + "00" }, status: 401},
		{name: "non_hex_signature", body: expiring, sig: func(b []byte) string { return "sha256=" + strings.Repeat("zz", 32) }, status: 401},
		{name: "wrong_secret", body: expiring, sig: func(b []byte) string { return Sign(b, "whsec_not-the-secret-0000000000") }, status: 401},
		{name: "signature_of_other_body", body: expiring, sig: func(b []byte) string { return Sign(append([]byte(" "), b...), testSecret1) }, status: 401},
		{name: "stale_timestamp", body: webhook("token.expiring", testNow.Add(-6*time.Minute).Format(time.RFC3339), "tok_1", "n"), sig: func(b []byte) string { return Sign(b, testSecret1) }, status: 401},
		{name: "future_timestamp", body: webhook("token.expiring", testNow.Add(6*time.Minute).Unix(), "tok_1", "n"), sig: func(b []byte) string { return Sign(b, testSecret1) }, status: 401},
		{name: "timestamp_at_tolerance_edge", body: webhook("token.rotated", testNow.Add(-5*time.Minute).Format(time.RFC3339), "tok_7", ""), sig: func(b []byte) string { return Sign(b, testSecret1) }, status: 200, want: []dispatch{
			{Repo: "octo/api", EventType: "tooken.token.rotated", ClientPayload: map[string]any{"id": "tok_7", "event": "token.rotated", "timestamp": testNow.Add(-5 * time.Minute).Format(time.RFC3339)}},
			{Repo: "octo/app", EventType: "tooken.token.rotated", ClientPayload: map[string]any{"id": "tok_7", "event": "token.rotated", "timestamp": testNow.Add(-5 * time.Minute).Format(time.RFC3339)}},
		}},
		{name: "oversized_body", body: huge, sig: func(b []byte) string { return Sign(b, testSecret1) }, status: 413},
		{name: "unknown_event_ignored", body: webhook("token.exploded", ts.Format(time.RFC3339), "tok_1", "n"), sig: func(b []byte) string { return Sign(b, testSecret1) }, status: 200},
		{name: "unrouted_event_ignored", body: webhook("token.used", ts.Format(time.RFC3339), "tok_1", "n"), sig: func(b []byte) string { return Sign(b, testSecret1) }, status: 200},
		{name: "malformed_envelope", body: []byte(`{"event":"token.expiring","timestamp":"yesterday","data":{"id":"tok_1"}}`), sig: func(b []byte) string { return Sign(b, testSecret1) }, status: 400},
		{name: "missing_token_id", body: []byte(`{"event":"token.expiring","timestamp":"` + ts.Format(time.RFC3339) + `","data":{}}`), sig: func(b []byte) string { return Sign(b, testSecret1) }, status: 400},
		{name: "not_json", body: []byte(`not json`), sig: func(b []byte) string { return Sign(b, testSecret1) }, status: 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tr := newTestRelay(t, nil)
			if got := tr.post(t, tc.body, tc.sig(tc.body)); got != tc.status {
				t.Fatalf("status = %d, want %d", got, tc.status)
			}
			tr.drain(t)
			got := withoutDelivery(tr.gh.dispatches())
			if tc.want == nil {
				tc.want = []dispatch{}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("dispatches (-want +got):\n%s", diff)
			}
			for _, d := range tr.gh.dispatches() {
				if id, _ := d.ClientPayload["delivery_id"].(string); !strings.HasPrefix(id, "sha256:") {
					t.Errorf("delivery_id = %q, want a sha256: prefix", id)
				}
			}
			assertNoSecrets(t, "logs", tr.logs.String())
		})
	}
}

func TestRelay_Replay(t *testing.T) {
	t.Parallel()
	ts := testNow.Add(-time.Minute).Format(time.RFC3339)
	body := webhook("token.expiring", ts, "tok_1", "a")
	withID := func(id, name string) []byte {
		return []byte(`{"id":"` + id + `","event":"token.revoked","timestamp":"` + ts + `","data":{"id":"tok_2","name":"` + name + `"}}`)
	}
	cases := []struct {
		name      string
		bodies    [][]byte
		sigs      []func([]byte) string
		statuses  []int
		wantCalls map[string]int
	}{
		{
			name:      "same_body_same_signature",
			bodies:    [][]byte{body, body},
			sigs:      []func([]byte) string{s1, s1},
			statuses:  []int{200, 409},
			wantCalls: map[string]int{"octo/app": 1, "octo/api": 1},
		},
		{
			name:      "same_body_bare_then_prefixed",
			bodies:    [][]byte{body, body},
			sigs:      []func([]byte) string{func(b []byte) string { return bareSign(b, testSecret1) }, s1},
			statuses:  []int{200, 409},
			wantCalls: map[string]int{"octo/app": 1, "octo/api": 1},
		},
		{
			name:      "same_body_other_secret",
			bodies:    [][]byte{body, body},
			sigs:      []func([]byte) string{s1, s2},
			statuses:  []int{200, 409},
			wantCalls: map[string]int{"octo/app": 1, "octo/api": 1},
		},
		{
			name:      "same_delivery_id_other_body",
			bodies:    [][]byte{withID("evt_1", "a"), withID("evt_1", "b")},
			sigs:      []func([]byte) string{s1, s1},
			statuses:  []int{200, 409},
			wantCalls: map[string]int{"octo/app": 1},
		},
		{
			name:      "distinct_deliveries_both_pass",
			bodies:    [][]byte{withID("evt_1", "a"), withID("evt_2", "a")},
			sigs:      []func([]byte) string{s1, s1},
			statuses:  []int{200, 200},
			wantCalls: map[string]int{"octo/app": 2},
		},
		{
			name:      "forged_first_does_not_burn_the_real_one",
			bodies:    [][]byte{body, body},
			sigs:      []func([]byte) string{func([]byte) string { return "sha256=" + strings.Repeat("ab", 32) }, s1},
			statuses:  []int{401, 200},
			wantCalls: map[string]int{"octo/app": 1, "octo/api": 1},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tr := newTestRelay(t, nil)
			var got []int
			for i, b := range tc.bodies {
				got = append(got, tr.post(t, b, tc.sigs[i](b)))
			}
			if diff := cmp.Diff(tc.statuses, got); diff != "" {
				t.Errorf("statuses (-want +got):\n%s", diff)
			}
			tr.drain(t)
			calls := map[string]int{}
			for _, d := range tr.gh.dispatches() {
				calls[d.Repo]++
			}
			if diff := cmp.Diff(tc.wantCalls, calls); diff != "" {
				t.Errorf("dispatches per repo (-want +got):\n%s", diff)
			}
		})
	}
}

func s1(b []byte) string { return Sign(b, testSecret1) }
func s2(b []byte) string { return Sign(b, testSecret2) }

func TestRelay_ConcurrentReplays(t *testing.T) {
	t.Parallel()
	tr := newTestRelay(t, nil)
	body := webhook("token.expiring", testNow.Format(time.RFC3339), "tok_1", "a")
	const n = 20
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = tr.post(t, body, Sign(body, testSecret1))
		}()
	}
	wg.Wait()
	// One copy is dispatched; the others are refused as replays (409) or,
	// while it is still in flight, asked to retry (503): never both
	// dispatched.
	count := map[int]int{}
	for _, s := range statuses {
		switch s {
		case 409, 503:
			count[409+503]++
		default:
			count[s]++
		}
	}
	if diff := cmp.Diff(map[int]int{200: 1, 409 + 503: n - 1}, count); diff != "" {
		t.Errorf("statuses (-want +got; 912 = 409 or 503):\n%s", diff)
	}
	tr.drain(t)
	if got := len(tr.gh.dispatches()); got != 2 {
		t.Errorf("dispatches = %d, want 2", got)
	}
}

func TestRelay_Retry(t *testing.T) {
	t.Parallel()
	type answer struct {
		status int
		header map[string]string
		body   string
	}
	cases := []struct {
		name          string
		answers       []answer // answers before the fake's 204
		mod           func(*Config)
		wantCalls     int
		wantDelivered int
		wantWaits     []time.Duration
		exactWaits    bool
		// wantStatus is the answer to the webhook (200 unless set);
		// wantRetryAfter its Retry-After.
		wantStatus     int
		wantRetryAfter string
	}{
		{
			name:          "5xx_retried_then_success",
			answers:       []answer{{status: 502}, {status: 500, body: `{"message":"Server Error"}`}},
			wantCalls:     3,
			wantDelivered: 1,
			wantWaits:     []time.Duration{time.Second, 2 * time.Second}, // before jitter
		},
		{
			name:          "503_with_retry_after",
			answers:       []answer{{status: 503, header: map[string]string{"Retry-After": "3"}}},
			wantCalls:     2,
			wantDelivered: 1,
			wantWaits:     []time.Duration{3 * time.Second},
			exactWaits:    true,
		},
		{
			name:          "429_retry_after_honoured",
			answers:       []answer{{status: 429, header: map[string]string{"Retry-After": "7"}, body: `{"message":"too many"}`}},
			wantCalls:     2,
			wantDelivered: 1,
			wantWaits:     []time.Duration{7 * time.Second},
			exactWaits:    true,
		},
		{
			name:          "429_retry_after_http_date",
			answers:       []answer{{status: 429, header: map[string]string{"Retry-After": testNow.Add(8 * time.Second).Format(http.TimeFormat)}}},
			wantCalls:     2,
			wantDelivered: 1,
			wantWaits:     []time.Duration{8 * time.Second},
			exactWaits:    true,
		},
		{
			// A wait past the dispatch budget (10s) is the sender's: 503
			// with GitHub's wait passed on.
			name:           "429_retry_after_beyond_budget_is_passed_on",
			answers:        []answer{{status: 429, header: map[string]string{"Retry-After": testNow.Add(42 * time.Second).Format(http.TimeFormat)}}},
			wantCalls:      1,
			wantStatus:     503,
			wantRetryAfter: "42",
		},
		{
			name:           "429_without_headers_waits_a_minute",
			answers:        []answer{{status: 429}},
			wantCalls:      1,
			wantStatus:     503,
			wantRetryAfter: "60",
		},
		{
			name:           "503_retry_after_20_is_passed_on",
			answers:        []answer{{status: 503, header: map[string]string{"Retry-After": "20"}}},
			wantCalls:      1,
			wantStatus:     503,
			wantRetryAfter: "20",
		},
		{
			name: "403_primary_rate_limit_with_retry_after",
			answers: []answer{{status: 403, header: map[string]string{"Retry-After": "5", "X-RateLimit-Remaining": "0"},
				body: `{"message":"API rate limit exceeded for user."}`}},
			wantCalls:     2,
			wantDelivered: 1,
			wantWaits:     []time.Duration{5 * time.Second},
			exactWaits:    true,
		},
		{
			name: "403_secondary_rate_limit",
			answers: []answer{{status: 403, header: map[string]string{"Retry-After": "0"},
				body: `{"message":"You have exceeded a secondary rate limit","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}`}},
			wantCalls:     2,
			wantDelivered: 1,
			wantWaits:     []time.Duration{0},
			exactWaits:    true,
		},
		{
			name:       "403_forbidden_is_final",
			answers:    []answer{{status: 403, body: `{"message":"Resource not accessible by personal access token"}`}},
			wantCalls:  1,
			wantStatus: 502,
		},
		{
			name:       "404_is_final",
			answers:    []answer{{status: 404, body: `{"message":"Not Found"}`}},
			wantCalls:  1,
			wantStatus: 502,
		},
		{
			name:       "422_is_final",
			answers:    []answer{{status: 422, body: `{"message":"Invalid request"}`}},
			wantCalls:  1,
			wantStatus: 502,
		},
		{
			name:       "attempts_exhausted",
			answers:    []answer{{status: 500}, {status: 500}, {status: 500}},
			mod:        func(c *Config) { c.MaxAttempts = 3 },
			wantCalls:  3,
			wantWaits:  []time.Duration{time.Second, 2 * time.Second},
			wantStatus: 503,
		},
		{
			name:           "retry_after_beyond_longer_budget_gives_up",
			answers:        []answer{{status: 429, header: map[string]string{"Retry-After": "3600"}}},
			mod:            func(c *Config) { c.DispatchTimeout = 10 * time.Minute },
			wantCalls:      1,
			wantStatus:     503,
			wantRetryAfter: "3600",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tr := newTestRelay(t, func(c *Config) {
				if tc.mod != nil {
					tc.mod(c)
				}
			})
			tr.gh.respond = func(repo string, n int, w http.ResponseWriter) bool {
				if n > len(tc.answers) {
					return false
				}
				a := tc.answers[n-1]
				for k, v := range a.header {
					w.Header().Set(k, v)
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(a.status)
				fmt.Fprint(w, a.body)
				return true
			}
			// token.revoked goes to octo/app only.
			body := webhook("token.revoked", testNow.Format(time.RFC3339), "tok_1", "n")
			wantStatus := tc.wantStatus
			if wantStatus == 0 {
				wantStatus = 200
			}
			got, hdr := tr.postResp(t, body, Sign(body, testSecret1))
			if got != wantStatus {
				t.Fatalf("status = %d, want %d", got, wantStatus)
			}
			if tc.wantRetryAfter != "" {
				if ra := hdr.Get("Retry-After"); ra != tc.wantRetryAfter {
					t.Errorf("Retry-After = %q, want %q", ra, tc.wantRetryAfter)
				}
			}
			tr.drain(t)
			if got := tr.gh.callCount("octo/app"); got != tc.wantCalls {
				t.Errorf("calls = %d, want %d", got, tc.wantCalls)
			}
			if got := len(tr.gh.dispatches()); got != tc.wantDelivered {
				t.Errorf("delivered = %d, want %d", got, tc.wantDelivered)
			}
			st := tr.Stats()
			if got, want := st.Dispatched, int64(tc.wantDelivered); got != want {
				t.Errorf("dispatched = %d, want %d", got, want)
			}
			if got, want := st.Rejections, int64(0); wantStatus == 502 && got != 1 || wantStatus != 502 && got != want {
				t.Errorf("rejections by GitHub = %d (answer %d)", got, wantStatus)
			}
			waits := tr.sleeps.Waits()
			if len(waits) != len(tc.wantWaits) {
				t.Fatalf("waits = %v, want %v", waits, tc.wantWaits)
			}
			for i, w := range waits {
				lo, hi := tc.wantWaits[i], tc.wantWaits[i]+tc.wantWaits[i]/5
				if tc.exactWaits {
					hi = lo
				}
				if w < lo || w > hi {
					t.Errorf("wait %d = %v, want in [%v, %v]", i, w, lo, hi)
				}
			}
			assertNoSecrets(t, "logs", tr.logs.String())
		})
	}
}

// postAsync posts in the background; the status arrives on the channel.
func (tr *testRelay) postAsync(t testing.TB, body []byte) <-chan int {
	ch := make(chan int, 1)
	go func() { ch <- tr.post(t, body, s1(body)) }()
	return ch
}

// blockGitHub holds every dispatch until the returned release is called;
// entered receives each repository as its dispatch arrives.
func (tr *testRelay) blockGitHub(t testing.TB) (entered <-chan string, release func()) {
	in := make(chan string, 64)
	gate := make(chan struct{})
	var once sync.Once
	rel := func() { once.Do(func() { close(gate) }) }
	t.Cleanup(rel)
	tr.gh.mu.Lock()
	tr.gh.block = func(repo string) {
		in <- repo
		<-gate
	}
	tr.gh.mu.Unlock()
	return in, rel
}

func TestRelay_ShutdownWaitsForInFlight(t *testing.T) {
	t.Parallel()
	tr := newTestRelay(t, nil)
	entered, release := tr.blockGitHub(t)
	body := webhook("token.expiring", testNow.Format(time.RFC3339), "tok_1", "n")
	answer := tr.postAsync(t, body)
	<-entered
	<-entered // both dispatches are at GitHub
	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		shut <- tr.Shutdown(ctx)
	}()
	// New webhooks are refused as soon as shutdown has begun; the one in
	// flight still completes.
	late := webhook("token.expiring", testNow.Format(time.RFC3339), "tok_late", "n")
	for tr.post(t, late, s1(late)) != http.StatusServiceUnavailable {
		time.Sleep(time.Millisecond)
	}
	release()
	if got := <-answer; got != 200 {
		t.Errorf("webhook in flight: status = %d, want 200", got)
	}
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if got := len(tr.gh.dispatches()); got != 2 {
		t.Errorf("delivered = %d, want 2", got)
	}
	resp, err := tr.srv.Client().Get(tr.srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("healthz after shutdown = %d, want 503", resp.StatusCode)
	}
}

func TestRelay_ShutdownDeadlineCancels(t *testing.T) {
	t.Parallel()
	tr := newTestRelay(t, nil)
	entered, _ := tr.blockGitHub(t)
	body := webhook("token.revoked", testNow.Format(time.RFC3339), "tok_1", "n")
	answer := tr.postAsync(t, body)
	<-entered
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := tr.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown error = %v, want context.Canceled", err)
	}
	// Not answered 2xx: the sender retries, nothing is lost.
	if got := <-answer; got != http.StatusServiceUnavailable {
		t.Errorf("status = %d, want 503", got)
	}
	if !strings.Contains(tr.logs.String(), "the sender retries") {
		t.Errorf("logs do not report the dispatch left to the sender")
	}
}

func TestRelay_InFlightCapRefusesAndForgets(t *testing.T) {
	t.Parallel()
	tr := newTestRelay(t, func(c *Config) { c.MaxInFlight = 1 })
	entered, release := tr.blockGitHub(t)
	a := webhook("token.expiring", testNow.Format(time.RFC3339), "tok_a", "n")
	b := webhook("token.expiring", testNow.Format(time.RFC3339), "tok_b", "n")
	answerA := tr.postAsync(t, a)
	<-entered
	got, hdr := tr.postResp(t, b, s1(b))
	if got != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" {
		t.Fatalf("b: status = %d, Retry-After %q; want 503 with a Retry-After", got, hdr.Get("Retry-After"))
	}
	release()
	if got := <-answerA; got != 200 {
		t.Fatalf("a: status = %d, want 200", got)
	}
	// b was never claimed: its retry is accepted now.
	if got := tr.post(t, b, s1(b)); got != 200 {
		t.Fatalf("b retry: status = %d, want 200", got)
	}
	tr.drain(t)
	ids := map[string]int{}
	for _, d := range tr.gh.dispatches() {
		ids[d.ClientPayload["id"].(string)]++
	}
	if diff := cmp.Diff(map[string]int{"tok_a": 2, "tok_b": 2}, ids); diff != "" {
		t.Errorf("dispatches per token (-want +got):\n%s", diff)
	}
}

func TestRelay_NoSecretLeaks(t *testing.T) {
	t.Parallel()
	tr := newTestRelay(t, nil)
	// GitHub echoes secrets in its error text: the relay must mask them.
	tr.gh.respond = func(repo string, n int, w http.ResponseWriter) bool {
		if repo != "octo/api" {
			return false
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnprocessableEntity)
		fmt.Fprintf(w, `{"message":"bad token %s and secret %s ::stop-commands::x"}`, testToken, testSecret1)
		return true
	}
	// A body that tries to smuggle secrets into the payload through extra
	// fields, and forged requests whose signature is the secret itself.
	body := []byte(`{"event":"token.expiring","timestamp":"` + testNow.Format(time.RFC3339) +
		`","data":{"id":"tok_1","name":"n","token":"` + testToken + `","secret":"` + testSecret2 + `"}}`)
	if got := tr.post(t, body, Sign(body, testSecret1)); got != 502 {
		t.Fatalf("status = %d, want 502 (GitHub refused octo/api)", got)
	}
	for _, forged := range []string{testSecret1, "sha256=" + testSecret2, testToken} {
		if got := tr.post(t, body, forged); got != 401 && got != 409 {
			t.Errorf("forged: status = %d, want 401", got)
		}
	}
	tr.drain(t)
	tr.gh.mu.Lock()
	raw := strings.Join(tr.gh.raw, "\n")
	auth := append([]string(nil), tr.gh.auth...)
	tr.gh.mu.Unlock()
	assertNoSecrets(t, "requests to GitHub", raw)
	for _, a := range auth {
		if a != "Bearer "+testToken {
			t.Errorf("Authorization header is not the bearer token")
		}
	}
	logs := tr.logs.String()
	assertNoSecrets(t, "logs", logs)
	if strings.Contains(logs, "::stop-commands::") {
		t.Errorf("logs hold a workflow command from server text")
	}
	if !strings.Contains(logs, "dispatch refused by GitHub") {
		t.Errorf("logs do not report the failed dispatch")
	}
}

func TestRelay_Healthz(t *testing.T) {
	t.Parallel()
	tr := newTestRelay(t, nil)
	cases := []struct {
		name, method, path string
		status             int
	}{
		{name: "healthz", method: "GET", path: "/healthz", status: 200},
		{name: "webhook_get_not_allowed", method: "GET", path: "/webhook", status: 405},
		{name: "root_post_unsigned", method: "POST", path: "/", status: 401},
		{name: "unknown_path", method: "POST", path: "/nope", status: 404},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req, _ := http.NewRequest(tc.method, tr.srv.URL+tc.path, strings.NewReader("{}"))
			resp, err := tr.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Errorf("status = %d, want %d", resp.StatusCode, tc.status)
			}
		})
	}
}

func TestNew_Errors(t *testing.T) {
	t.Parallel()
	routes, err := ParseRoutes([]byte(testRoutesYAML))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		cfg       Config
		wantField string
	}{
		{name: "no_routes", cfg: Config{Secrets: []redact.Secret{testSecret1}, GitHubToken: testToken}, wantField: "routes"},
		{name: "no_secrets", cfg: Config{Routes: routes, Secrets: []redact.Secret{""}, GitHubToken: testToken}, wantField: EnvWebhookSecrets},
		{name: "no_token", cfg: Config{Routes: routes, Secrets: []redact.Secret{testSecret1}}, wantField: EnvGitHubToken},
		{name: "http_api_url_not_loopback", cfg: Config{Routes: routes, Secrets: []redact.Secret{testSecret1}, GitHubToken: testToken, GitHubAPIURL: "http://ghe.example.com/api/v3"}, wantField: "github-api-url"},
		{name: "api_url_with_credentials", cfg: Config{Routes: routes, Secrets: []redact.Secret{testSecret1}, GitHubToken: testToken, GitHubAPIURL: "https://user:" + testToken + "@ghe.example.com/"}, wantField: "github-api-url"},
		{name: "too_much_concurrency", cfg: Config{Routes: routes, Secrets: []redact.Secret{testSecret1}, GitHubToken: testToken, Concurrency: 1000}, wantField: "concurrency"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, err := New(tc.cfg)
			if err == nil {
				_ = r.Shutdown(context.Background())
				t.Fatal("New succeeded, want an error")
			}
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v is not a *ConfigError", err)
			}
			if ce.Field != tc.wantField {
				t.Errorf("field = %q, want %q", ce.Field, tc.wantField)
			}
			assertNoSecrets(t, "error", err.Error())
		})
	}
}

func TestParseGitHubAPIURL(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, in, want string }{
		{name: "default", in: "", want: "https://api.github.com/"},
		{name: "dotcom", in: "https://api.github.com", want: "https://api.github.com/"},
		{name: "ghes", in: "https://ghe.example.com/api/v3", want: "https://ghe.example.com/api/v3/"},
		{name: "ghes_slash", in: "https://ghe.example.com/api/v3/", want: "https://ghe.example.com/api/v3/"},
		{name: "loopback_http", in: "http://127.0.0.1:9999", want: "http://127.0.0.1:9999/"},
		{name: "localhost_http", in: "http://localhost:9999/api/v3", want: "http://localhost:9999/api/v3/"},
		{name: "ghes_bare_host_gets_api_v3", in: "https://ghe.example.com", want: "https://ghe.example.com/api/v3/"},
		{name: "path_used_as_given", in: "http://127.0.0.1:9999/github", want: "http://127.0.0.1:9999/github/"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			u, err := ParseGitHubAPIURL(tc.in)
			if err != nil {
				t.Fatalf("ParseGitHubAPIURL: %v", err)
			}
			if diff := cmp.Diff(tc.want, u.String()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestRelay_GHESBase(t *testing.T) {
	t.Parallel()
	// A GHES-style base with /api/v3: requests must land under it.
	var mu sync.Mutex
	var paths []string
	ghes := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.Method+" "+r.URL.Path)
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(ghes.Close)
	tr := newTestRelay(t, func(c *Config) { c.GitHubAPIURL = ghes.URL + "/api/v3" })
	body := webhook("token.revoked", testNow.Format(time.RFC3339), "tok_1", "n")
	if got := tr.post(t, body, s1(body)); got != 200 {
		t.Fatalf("status = %d, want 200", got)
	}
	tr.drain(t)
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff([]string{"POST /api/v3/repos/octo/app/dispatches"}, paths); diff != "" {
		t.Errorf("paths (-want +got):\n%s", diff)
	}
}
