package relay

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Flood test: a relay process under hundreds of unauthenticated
// connections that each send a near-1-MiB body (or a chunked one) and
// stall, while signed webhooks keep arriving. The relay's peak RSS
// (/proc/PID/status VmHWM) must stay under floodRSSBound and every signed
// webhook must be answered 200 within floodAnswerBound. Opt-in (it
// pushes about a gigabyte through 127.0.0.1) and not under -race (the race
// detector multiplies memory):
//
//	TOKENMINT_RELAY_FLOOD=1 go test -run TestFlood -v ./internal/relay/
//
// Knobs: TOKENMINT_RELAY_FLOOD_CONNS (stalled connections, default 600),
// TOKENMINT_RELAY_FLOOD_SECONDS (how long signed webhooks are sent during
// the flood, default 10).
const (
	floodRSSBound    = 160 << 20
	floodAnswerBound = 3 * time.Second
)

func TestFlood(t *testing.T) {
	if os.Getenv("TOKENMINT_RELAY_FLOOD") == "" {
		t.Skip("set TOKENMINT_RELAY_FLOOD=1 to run the flood test")
	}
	if raceEnabled {
		t.Skip("measures RSS: run without -race")
	}
	conns := envInt("TOKENMINT_RELAY_FLOOD_CONNS", 600)
	seconds := envInt("TOKENMINT_RELAY_FLOOD_SECONDS", 10)
	gh := newProcGitHub(t, nil)
	p := startRelayProc(t, t.TempDir(), gh.srv.URL, "")
	pid := p.cmd.Process.Pid
	base, err := vmHWM(pid)
	if err != nil {
		t.Fatal(err)
	}

	// The flood: half declare Content-Length 1 MiB and send all but the
	// last byte, half send a 30 KiB chunk of a chunked body; then each
	// stalls until the relay closes the connection, and starts again.
	var stop atomic.Bool
	var open, opened, maxOpen atomic.Int64
	var wg sync.WaitGroup
	junk := []byte(strings.Repeat("a", 1<<20-1))
	chunk := []byte(fmt.Sprintf("%x\r\n%s\r\n", 30<<10, strings.Repeat("b", 30<<10)))
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				c, err := net.DialTimeout("tcp", p.addr, 5*time.Second)
				if err != nil {
					time.Sleep(100 * time.Millisecond)
					continue
				}
				opened.Add(1)
				now := open.Add(1)
				for m := maxOpen.Load(); now > m && !maxOpen.CompareAndSwap(m, now); m = maxOpen.Load() {
				}
				hdr := "POST /webhook HTTP/1.1\r\nHost: relay\r\nContent-Type: application/json\r\nX-Tooken-Signature: sha256=" + strings.Repeat("0", 64) + "\r\n"
				if i%2 == 0 {
					_, err = io.WriteString(c, hdr+fmt.Sprintf("Content-Length: %d\r\n\r\n", 1<<20))
					if err == nil {
						_, _ = c.Write(junk)
					}
				} else {
					_, err = io.WriteString(c, hdr+"Transfer-Encoding: chunked\r\n\r\n")
					if err == nil {
						_, _ = c.Write(chunk)
					}
				}
				// Stall: never send the rest; wait for the relay to give up.
				_, _ = io.Copy(io.Discard, c)
				c.Close()
				open.Add(-1)
				time.Sleep(200 * time.Millisecond)
			}
		}()
	}
	defer func() {
		stop.Store(true)
		wg.Wait()
	}()
	waitUntil(t, "the flood is established", func() bool { return maxOpen.Load() >= int64(conns)*9/10 })

	// Signed webhooks, one every 20 ms, each on its own goroutine.
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	type answer struct {
		status int
		lat    time.Duration
	}
	var mu sync.Mutex
	var answers []answer
	var swg sync.WaitGroup
	end := time.Now().Add(time.Duration(seconds) * time.Second)
	ts := time.Now().UTC().Format(time.RFC3339)
	for i := 0; time.Now().Before(end); i++ {
		swg.Add(1)
		go func() {
			defer swg.Done()
			body := webhook("token.expiring", ts, fmt.Sprintf("tok_flood_%d", i), "flood")
			req, _ := http.NewRequest(http.MethodPost, p.url(), strings.NewReader(string(body)))
			req.Header.Set(SignatureHeader, Sign(body, testSecret1))
			start := time.Now()
			resp, err := client.Do(req)
			a := answer{status: -1}
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				a.status = resp.StatusCode
			}
			a.lat = time.Since(start)
			mu.Lock()
			answers = append(answers, a)
			mu.Unlock()
		}()
		time.Sleep(20 * time.Millisecond)
	}
	swg.Wait()
	heldAtEnd := open.Load()
	peak, err := vmHWM(pid)
	if err != nil {
		t.Fatal(err)
	}
	stop.Store(true)

	var lats []time.Duration
	statuses := map[int]int{}
	for _, a := range answers {
		lats = append(lats, a.lat)
		statuses[a.status]++
	}
	slices.Sort(lats)
	pct := func(q float64) time.Duration { return lats[min(len(lats)-1, int(float64(len(lats))*q))] }
	t.Logf("flood: %d stalled connections at once (max %d, %d still held at the end, %d opened in all), half 1 MiB − 1 byte of a 1 MiB Content-Length, half a 30 KiB chunk",
		conns, maxOpen.Load(), heldAtEnd, opened.Load())
	t.Logf("relay peak RSS (VmHWM): %.1f MiB (%.1f MiB before the flood; bound %d MiB)", float64(peak)/(1<<20), float64(base)/(1<<20), floodRSSBound>>20)
	t.Logf("signed webhooks during the flood: %d sent, statuses %v; latency p50 %v, p99 %v, max %v (bound %v)",
		len(answers), statuses, pct(0.5), pct(0.99), lats[len(lats)-1], floodAnswerBound)
	if peak > floodRSSBound {
		t.Errorf("peak RSS %d MiB over the %d MiB bound", peak>>20, floodRSSBound>>20)
	}
	if statuses[http.StatusOK] != len(answers) {
		t.Errorf("signed webhooks: statuses %v, want all 200", statuses)
	}
	if lats[len(lats)-1] > floodAnswerBound {
		t.Errorf("slowest signed webhook took %v, want under %v", lats[len(lats)-1], floodAnswerBound)
	}
}
