package relay

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestReplicas_SharedRedis runs two relay processes sharing one real
// redis-server behind a round-robin sender: every webhook is dispatched
// once, a replay sent to the other replica is refused, and a replica
// killed with -9 in the middle of a dispatch loses nothing: the sender's
// retry reaches the other replica, which sends only what is missing.
func TestReplicas_SharedRedis(t *testing.T) {
	t.Parallel()
	url, prefix := testRedis(t)
	gh := newProcGitHub(t, func(tok, repo string, call int) string {
		if repo != "octo/app" || call != 1 {
			return ""
		}
		switch tok {
		case "tok_kill_before": // GitHub never created the event
			return "hang"
		case "tok_kill_after": // GitHub created it, the answer never came
			return "record-hang"
		}
		return ""
	})
	dir := t.TempDir()
	args := []string{"--dispatch-timeout", "3s", "--redis-url", url, "--redis-prefix", prefix}
	replicas := []*relayProc{startRelayProc(t, dir, gh.srv.URL, "", args...), startRelayProc(t, dir, gh.srv.URL, "", args...)}
	client := &http.Client{Timeout: 30 * time.Second}
	now := time.Now().UTC().Format(time.RFC3339)

	// Round robin: webhook i goes to replica i%2.
	const n = 20
	var ids []string
	bodies := map[string][]byte{}
	for i := range n {
		id := fmt.Sprintf("tok_rr_%d", i)
		ids = append(ids, id)
		bodies[id] = webhook("token.expiring", now, id, "rr")
		if st := tooken(client, func(int) string { return replicas[i%2].url() }, bodies[id], 30*time.Second); len(st) != 1 || st[0] != http.StatusOK {
			t.Errorf("webhook %d via replica %d: statuses %v, want [200]", i, i%2, st)
		}
	}
	// Replays: each sent to the replica that did not take it.
	for i, id := range ids {
		if st := tooken(client, func(int) string { return replicas[(i+1)%2].url() }, bodies[id], 10*time.Second); len(st) != 1 || st[0] != http.StatusConflict {
			t.Errorf("replay of webhook %d via replica %d: statuses %v, want [409]", i, (i+1)%2, st)
		}
	}

	// kill -9 replica 0 while GitHub holds its dispatches; the senders
	// (like a load balancer in front of Tooken's retries) then reach
	// replica 1.
	killIDs := []string{"tok_kill_before", "tok_kill_after"}
	statuses := make([][]int, len(killIDs))
	var wg sync.WaitGroup
	for _, id := range killIDs {
		bodies[id] = webhook("token.expiring", now, id, "kill")
	}
	for i, id := range killIDs {
		body := bodies[id]
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = tooken(client, func(attempt int) string {
				if attempt == 0 {
					return replicas[0].url()
				}
				return replicas[1].url()
			}, body, 90*time.Second)
		}()
	}
	for range killIDs {
		select {
		case <-gh.hung:
		case <-time.After(60 * time.Second):
			t.Fatalf("the dispatches did not reach GitHub:\n%s", replicas[0].tail())
		}
	}
	waitUntil(t, "octo/api took both dispatches", func() bool {
		gh.mu.Lock()
		defer gh.mu.Unlock()
		return gh.counts["tok_kill_before octo/api"] == 1 && gh.counts["tok_kill_after octo/api"] == 1
	})
	// ... and until replica 0 has recorded them (a kill before that would
	// resend them: at least once).
	opts, err := ParseRedisURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	rs := &redisStore{prefix: prefix}
	api := Target{Owner: "octo", Repo: "api", EventType: "tooken.token.expiring"}.storeKey()
	waitUntil(t, "replica 0 recorded octo/api's dispatches in Redis", func() bool {
		for _, id := range killIDs {
			keys := rs.keys(newDeliveryRef(bodies[id], mustSig(bodies[id]), ""))
			if ok, err := rdb.SIsMember(context.Background(), keys[len(keys)-1], api).Result(); err != nil || !ok {
				return false
			}
		}
		return true
	})
	replicas[0].kill()
	wg.Wait()
	for i, st := range statuses {
		if lastStatus(st) != http.StatusOK {
			t.Errorf("%s: statuses %v, want 200 at last", killIDs[i], st)
		}
		for _, s := range st {
			if s == http.StatusConflict {
				t.Errorf("%s: a retry was refused as a replay (statuses %v)", killIDs[i], st)
			}
		}
	}
	dispatched, lost, dup := gh.tally(append(append([]string(nil), ids...), killIDs...))
	t.Logf("two replicas, one redis-server: %d webhooks sent round robin + %d killed mid-dispatch; %d dispatches (needed %d), %d duplicated, %d lost; %d replays to the other replica refused",
		n, len(killIDs), dispatched, 2*(n+len(killIDs)), dup, lost, n)
	// Only the event GitHub created without answering may be sent twice.
	if lost != 0 || dup != 1 {
		t.Errorf("lost %d, duplicated %d; want 0 lost, 1 duplicated (tok_kill_after to octo/app)", lost, dup)
	}
	gh.mu.Lock()
	if c := gh.counts["tok_kill_after octo/app"]; c != 2 {
		t.Errorf("tok_kill_after octo/app dispatched %d times, want 2", c)
	}
	gh.mu.Unlock()
	for _, id := range killIDs {
		if st := tooken(client, func(int) string { return replicas[1].url() }, bodies[id], 10*time.Second); lastStatus(st) != http.StatusConflict {
			t.Errorf("replay of %s: statuses %v, want 409", id, st)
		}
	}
	if err := replicas[1].terminate(); err != nil {
		t.Errorf("replica 1 did not stop cleanly: %v\n%s", err, replicas[1].tail())
	}
	assertNoSecrets(t, "relay logs", replicas[0].logText()+replicas[1].logText())
}
