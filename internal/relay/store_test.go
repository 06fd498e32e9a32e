package relay

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// storeModel is the replay store's contract in its simplest form: each
// key is free, claimed by a token, or done; each primary key has a set of
// dispatched targets.
type storeModel struct {
	state   map[replayKey]string // "" free, "c:<token>", "done"
	targets map[replayKey]map[string]bool
}

func (m *storeModel) claim(d deliveryRef, token string) (string, []string) {
	busy := false
	for _, k := range d.keys {
		switch v := m.state[k]; {
		case v == "done":
			return "replay", nil
		case v != "":
			busy = true
		}
	}
	if busy {
		return "busy", nil
	}
	for _, k := range d.keys {
		m.state[k] = "c:" + token
	}
	var done []string
	for t := range m.targets[d.primary] {
		done = append(done, t)
	}
	sort.Strings(done)
	return "ok", done
}

func (m *storeModel) mark(d deliveryRef, target string) {
	if m.targets[d.primary] == nil {
		m.targets[d.primary] = map[string]bool{}
	}
	m.targets[d.primary][target] = true
}

func (m *storeModel) finish(d deliveryRef) {
	for _, k := range d.keys {
		m.state[k] = "done"
	}
	delete(m.targets, d.primary)
}

func (m *storeModel) release(d deliveryRef, token string) {
	for _, k := range d.keys {
		if m.state[k] == "c:"+token {
			delete(m.state, k)
		}
	}
}

func claimKind(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, errReplay):
		return "replay"
	case errors.Is(err, errBusy):
		return "busy"
	}
	return "error: " + err.Error()
}

// TestStore_Model drives the in-memory and the Redis store (a real
// redis-server) with the same random operations and compares each answer
// with storeModel. Deliveries share keys the way real ones do: the same
// envelope id with another body, the same body re-signed with the other
// secret. The seed is printed on failure (TOKENMINT_RELAY_STORE_SEED
// replays it).
func TestStore_Model(t *testing.T) {
	t.Parallel()
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("TOKENMINT_RELAY_STORE_SEED"); v != "" {
		seed, _ = strconv.ParseUint(v, 10, 64)
	}
	stores := map[string]store{"memory": newMemStore(DefaultReplayMax)}
	if url, prefix := testRedisOrNone(t); url != "" {
		opts, err := ParseRedisURL(url)
		if err != nil {
			t.Fatal(err)
		}
		rs := newRedisStore(opts, prefix, 4, DefaultRedisTimeout)
		t.Cleanup(func() { rs.close() })
		stores["redis"] = rs
	}
	for name, st := range stores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(seed, 17))
			// Deliveries: bodies 0..5; 0 and 1 share the envelope id e1, 2
			// and 3 have no id, 4 is 2 re-signed, 5 has id e2.
			bodies := []string{`{"id":"e1","v":0}`, `{"id":"e1","v":1}`, `{"v":2}`, `{"v":3}`, `{"v":2}`, `{"id":"e2"}`}
			ids := []string{"e1", "e1", "", "", "", "e2"}
			sigs := []string{"s0", "s1", "s2", "s3", "s4", "s5"}
			refs := make([]deliveryRef, len(bodies))
			for i := range bodies {
				// A test-local namespace so reruns against a shared server
				// never meet old keys.
				refs[i] = newDeliveryRef([]byte(bodies[i]+fmt.Sprint(seed)), []byte(sigs[i]), ids[i])
			}
			model := &storeModel{state: map[replayKey]string{}, targets: map[replayKey]map[string]bool{}}
			holders := map[int]string{} // delivery → token of a live claim
			ctx := context.Background()
			now := time.Now()
			for step := range 400 {
				i := rng.IntN(len(refs))
				d := refs[i]
				where := fmt.Sprintf("seed %d, step %d, delivery %d", seed, step, i)
				switch op := rng.IntN(4); {
				case op == 0 || holders[i] == "":
					token := newToken()
					wantKind, wantDone := model.claim(d, token)
					done, err := st.claim(ctx, d, token, now, time.Hour)
					var gotDone []string
					for k := range done {
						gotDone = append(gotDone, k)
					}
					sort.Strings(gotDone)
					if diff := cmp.Diff(fmt.Sprint(wantKind, wantDone), fmt.Sprint(claimKind(err), gotDone)); diff != "" {
						t.Fatalf("%s: claim (-want +got):\n%s", where, diff)
					}
					if wantKind == "ok" {
						holders[i] = token
					}
				case op == 1:
					target := []string{"octo/app x", "octo/api x"}[rng.IntN(2)]
					model.mark(d, target)
					if err := st.markDispatched(ctx, d, target, now, now.Add(time.Hour)); err != nil {
						t.Fatalf("%s: markDispatched: %v", where, err)
					}
				case op == 2:
					model.finish(d)
					if err := st.finish(ctx, d, holders[i], now, now.Add(time.Hour)); err != nil {
						t.Fatalf("%s: finish: %v", where, err)
					}
					delete(holders, i)
				default:
					model.release(d, holders[i])
					if err := st.release(ctx, d, holders[i]); err != nil {
						t.Fatalf("%s: release: %v", where, err)
					}
					delete(holders, i)
				}
			}
		})
	}
}

// testRedisOrNone is testRedis for tests that also have something to do
// without Redis: it returns "" instead of skipping (still failing under
// CI when Redis is missing).
func testRedisOrNone(t *testing.T) (string, string) {
	if os.Getenv(EnvTestRedisURL) == "" && os.Getenv("CI") == "" {
		if _, err := exec.LookPath("redis-server"); err != nil {
			t.Logf("no redis-server: only the in-memory store is checked")
			return "", ""
		}
	}
	return testRedis(t)
}
