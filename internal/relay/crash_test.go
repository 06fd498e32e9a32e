package relay

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tokenmint/tokenmint/internal/redact"
)

// crashRow is one line of the crash matrix.
type crashRow struct {
	point, store                string
	sent, dispatched, dup, lost int
}

// TestCrashMatrix SIGKILLs a relay process at each point where it can die
// with webhooks in progress, restarts it on the same address and lets the
// senders retry as Tooken does (any non-2xx or dropped connection is
// retried). Every webhook must end up dispatched to both repositories, no
// retry may be refused as a replay, and the duplicates must be exactly
// what the design allows at that point: with the in-memory store the
// restarted relay has forgotten what was dispatched, with Redis it has
// not, so only an event GitHub created without answering is sent twice.
func TestCrashMatrix(t *testing.T) {
	t.Parallel()
	const n = 3 // webhooks in progress at each kill
	appFirst := func(what string) func(tok, repo string, call int) string {
		return func(_, repo string, call int) string {
			if repo == "octo/app" && call == 1 {
				return what
			}
			return ""
		}
	}
	cases := []struct {
		point  string // what the matrix calls it
		hold   string // hook point the relay stops at; "" = GitHub hangs
		behave func(tok, repo string, call int) string
		// waitAPI: before the kill, wait until octo/api has taken (and,
		// with Redis, the relay has recorded) every webhook's dispatch.
		waitAPI bool
		// duplicates expected with each store
		dupMem, dupRedis int
	}{
		{point: "after reading the body", hold: hookRead},
		{point: "after claiming, before dispatching", hold: hookClaimed},
		{point: "during a retry (GitHub 503 Retry-After: 1)", hold: hookRetryWait, behave: appFirst("503"), waitAPI: true, dupMem: n},
		// With Redis the first of the two dispatches is recorded when
		// GitHub takes it, the last one together with the delivery (by
		// store.finish, which this kill precedes), so it is resent.
		{point: "after dispatching, before answering", hold: hookDispatched, dupMem: 2 * n, dupRedis: n},
		{point: "mid-dispatch, GitHub hangs before creating the event", behave: appFirst("hang"), waitAPI: true, dupMem: n},
		{point: "mid-dispatch, GitHub created the event but never answered", behave: appFirst("record-hang"), waitAPI: true, dupMem: 2 * n, dupRedis: n},
	}
	var mu sync.Mutex
	var rows []crashRow
	t.Cleanup(func() {
		sort.Slice(rows, func(i, j int) bool {
			if rows[i].store != rows[j].store {
				return rows[i].store < rows[j].store
			}
			return rows[i].point < rows[j].point
		})
		var b strings.Builder
		b.WriteString("crash matrix (kill point, store: webhooks sent, dispatches made for 2 repositories each, duplicated, lost):\n")
		for _, r := range rows {
			fmt.Fprintf(&b, "  %-60s %-6s sent %d  dispatched %2d (needed %d)  duplicated %d  lost %d\n", r.point, r.store, r.sent, r.dispatched, 2*r.sent, r.dup, r.lost)
		}
		t.Log(b.String())
	})
	for _, store := range []string{"memory", "redis"} {
		for _, tc := range cases {
			name := store + "/" + strings.Fields(tc.point)[0] + "_" + strings.ReplaceAll(tc.hold, "-", "_")
			if tc.hold == "" {
				name = store + "/github_" + tc.behave("", "octo/app", 1)
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				gh := newProcGitHub(t, tc.behave)
				dir := t.TempDir()
				args := []string{"--dispatch-timeout", "3s"}
				var rdb *redis.Client
				var rs *redisStore
				if store == "redis" {
					url, prefix := testRedis(t)
					args = append(args, "--redis-url", url, "--redis-prefix", prefix)
					opts, err := ParseRedisURL(url)
					if err != nil {
						t.Fatal(err)
					}
					rdb = redis.NewClient(opts)
					t.Cleanup(func() { rdb.Close() })
					rs = &redisStore{prefix: prefix}
				}
				p1 := startRelayProc(t, dir, gh.srv.URL, tc.hold, args...)
				var cur atomic.Pointer[relayProc]
				cur.Store(p1)
				now := time.Now().UTC().Format(time.RFC3339)
				ids := make([]string, n)
				bodies := make([][]byte, n)
				for i := range n {
					ids[i] = fmt.Sprintf("tok_crash_%d", i)
					bodies[i] = webhook("token.expiring", now, ids[i], "crash")
				}
				client := &http.Client{Timeout: 30 * time.Second}
				statuses := make([][]int, n)
				var wg sync.WaitGroup
				for i := range n {
					wg.Add(1)
					go func() {
						defer wg.Done()
						statuses[i] = tooken(client, func(int) string { return cur.Load().url() }, bodies[i], 90*time.Second)
					}()
				}
				// Wait for the kill point.
				if tc.hold != "" {
					p1.waitHeld(t, n)
				} else {
					for range n {
						select {
						case <-gh.hung:
						case <-time.After(60 * time.Second):
							t.Fatalf("GitHub's dispatches did not arrive:\n%s", p1.tail())
						}
					}
				}
				if tc.waitAPI {
					waitUntil(t, "octo/api took every dispatch", func() bool {
						gh.mu.Lock()
						defer gh.mu.Unlock()
						for _, id := range ids {
							if gh.counts[id+" octo/api"] == 0 {
								return false
							}
						}
						return true
					})
					if rs != nil {
						api := Target{Owner: "octo", Repo: "api", EventType: "tooken.token.expiring"}.storeKey()
						waitUntil(t, "the relay recorded octo/api's dispatches in Redis", func() bool {
							for i := range n {
								keys := rs.keys(newDeliveryRef(bodies[i], mustSig(bodies[i]), ""))
								ok, err := rdb.SIsMember(context.Background(), keys[len(keys)-1], api).Result()
								if err != nil || !ok {
									return false
								}
							}
							return true
						})
					}
				}
				p1.kill()
				p2 := restartRelayProc(t, dir, gh.srv.URL, p1.addr, args...)
				cur.Store(p2)
				wg.Wait()
				for i, st := range statuses {
					if lastStatus(st)/100 != 2 {
						t.Errorf("webhook %d: statuses %v, want a 2xx at last", i, st)
					}
					for _, s := range st {
						if s == http.StatusConflict {
							t.Errorf("webhook %d: a retry was refused as a replay (statuses %v)", i, st)
						}
					}
				}
				dispatched, lost, dup := gh.tally(ids)
				mu.Lock()
				rows = append(rows, crashRow{point: tc.point, store: store, sent: n, dispatched: dispatched, dup: dup, lost: lost})
				mu.Unlock()
				want := tc.dupMem
				if store == "redis" {
					want = tc.dupRedis
				}
				if lost != 0 || dup != want {
					t.Errorf("lost %d, duplicated %d; want 0 lost, %d duplicated", lost, dup, want)
				}
				// The delivered webhooks are replays now, on the restarted
				// relay too (with Redis; in memory they were recorded by
				// p2 itself).
				for i := range n {
					if st := tooken(client, func(int) string { return p2.url() }, bodies[i], 10*time.Second); lastStatus(st) != http.StatusConflict {
						t.Errorf("replay of webhook %d after delivery: statuses %v, want 409", i, st)
					}
				}
				assertNoSecrets(t, "relay logs", p1.logText()+p2.logText())
			})
		}
	}
}

// restartRelayProc starts a relay on addr again (the sender's URL stays
// the same), falling back to a new port if another process took it.
func restartRelayProc(t testing.TB, dir, ghURL, addr string, args ...string) *relayProc {
	t.Helper()
	for try := 0; try < 3; try++ {
		p, err := tryStartRelayProc(t, dir, ghURL, append(append([]string(nil), args...), "--addr", addr)...)
		if err == nil {
			return p
		}
		time.Sleep(100 * time.Millisecond)
	}
	return startRelayProc(t, dir, ghURL, "", args...)
}

// tryStartRelayProc is startRelayProc that reports a failure to listen
// instead of failing the test.
func tryStartRelayProc(t testing.TB, dir, ghURL string, args ...string) (p *relayProc, err error) {
	t.Helper()
	ok := false
	ft := &fatalCatcher{TB: t}
	func() {
		defer func() {
			if r := recover(); r != nil {
				if err, ok := r.(error); !ok || !errors.Is(err, errFatalCaught) {
					panic(r)
				}
			}
		}()
		p = startRelayProc(ft, dir, ghURL, "", args...)
		ok = true
	}()
	if !ok {
		return nil, fmt.Errorf("relay did not start: %s", ft.msg)
	}
	return p, nil
}

var errFatalCaught = errors.New("fatal caught")

// fatalCatcher turns Fatalf into a panic caught by tryStartRelayProc.
type fatalCatcher struct {
	testing.TB
	msg string
}

func (f *fatalCatcher) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	panic(errFatalCaught)
}

func (f *fatalCatcher) Fatal(args ...any) {
	f.msg = fmt.Sprint(args...)
	panic(errFatalCaught)
}

func mustSig(body []byte) []byte {
	sig, ok := VerifySignature(body, Sign(body, testSecret1), []redact.Secret{testSecret1})
	if !ok {
		panic("signature does not verify")
	}
	return sig
}

// waitUntil polls cond (every 10 ms, up to a minute).
func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
