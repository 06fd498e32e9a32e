package relay

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The crash, replica and flood tests run the relay as a real process: the
// test binary re-executed with envChild set runs TestHelperRelayProcess,
// which is the relay's CLI (run) with two test hooks: it prints
// "READY addr" when listening and, at the hook point named by envHold,
// prints "HOLD point" and stops there for good, so the test can SIGKILL it
// at exactly that point.
const (
	envChild     = "TOKENMINT_RELAY_TEST_CHILD"
	envChildArgs = "TOKENMINT_RELAY_TEST_CHILD_ARGS" // unit-separator (0x1f) separated
	envHold      = "TOKENMINT_RELAY_TEST_HOLD"
)

func TestHelperRelayProcess(t *testing.T) {
	if os.Getenv(envChild) == "" {
		t.Skip("helper process for the crash, replica and flood tests")
	}
	hold := os.Getenv(envHold)
	var outMu sync.Mutex
	say := func(format string, args ...any) {
		outMu.Lock()
		defer outMu.Unlock()
		fmt.Fprintf(os.Stdout, format+"\n", args...)
	}
	hooks := &runHooks{
		ready: func(addr string) { say("READY %s", addr) },
		hook: func(point string) {
			if point == hold {
				say("HOLD %s", point)
				select {} // until SIGKILL
			}
		},
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	setMemoryLimit(os.Getenv)
	err := run(ctx, strings.Split(os.Getenv(envChildArgs), "\x1f"), io.Discard, os.Stderr, os.Getenv, hooks)
	if err != nil {
		fmt.Fprintln(os.Stderr, "relay:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// relayProc is a relay running as a child process.
type relayProc struct {
	t    testing.TB
	cmd  *exec.Cmd
	addr string
	logs string        // path of its stderr (JSON logs)
	held chan string   // hold points reached
	done chan struct{} // closed when the process has exited
	wmu  sync.Mutex    // guards waitErr
	werr error
}

// procEnv is what every child gets: the secrets and the token.
func procEnv(extra ...string) []string {
	env := []string{
		envChild + "=1",
		EnvWebhookSecrets + "=" + testSecret1 + "," + testSecret2,
		EnvGitHubToken + "=" + testToken,
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
	}
	if v := os.Getenv("GORACE"); v != "" {
		env = append(env, "GORACE="+v)
	}
	return append(env, extra...)
}

// startRelayProc starts the relay with args (after the routes file and
// the fake GitHub's URL) and waits until it listens. hold names the hook
// point it stops at ("" for none).
func startRelayProc(t testing.TB, dir, ghURL, hold string, args ...string) *relayProc {
	t.Helper()
	routes := filepath.Join(dir, "routes.yaml")
	if _, err := os.Stat(routes); err != nil {
		if err := os.WriteFile(routes, []byte(testRoutesYAML), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	all := append([]string{"--config", routes, "--github-api-url", ghURL}, args...)
	if !hasFlag(all, "--addr") {
		all = append(all, "--addr", "127.0.0.1:0")
	}
	logf, err := os.CreateTemp(dir, "relay-*.log")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperRelayProcess$", "-test.count=1")
	cmd.Env = procEnv(envChildArgs+"="+strings.Join(all, "\x1f"), envHold+"="+hold)
	cmd.Stderr = logf
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("failed to start the relay process: %v", err)
	}
	logf.Close()
	p := &relayProc{t: t, cmd: cmd, logs: logf.Name(), held: make(chan string, 1024), done: make(chan struct{})}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "READY "):
				ready <- strings.TrimPrefix(line, "READY ")
			case strings.HasPrefix(line, "HOLD "):
				p.held <- strings.TrimPrefix(line, "HOLD ")
			}
		}
		err := cmd.Wait()
		p.wmu.Lock()
		p.werr = err
		p.wmu.Unlock()
		close(p.done)
	}()
	t.Cleanup(p.kill)
	select {
	case p.addr = <-ready:
	case <-p.done:
		t.Fatalf("relay process exited before listening:\n%s", p.tail())
	case <-time.After(60 * time.Second):
		p.kill()
		t.Fatalf("relay process did not listen within 60s:\n%s", p.tail())
	}
	return p
}

func hasFlag(args []string, name string) bool {
	for _, a := range args {
		if a == name || strings.HasPrefix(a, name+"=") {
			return true
		}
	}
	return false
}

func (p *relayProc) url() string { return "http://" + p.addr + "/webhook" }

// kill sends SIGKILL and waits for the process to be gone.
func (p *relayProc) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// terminate sends SIGTERM and waits (a graceful stop).
func (p *relayProc) terminate() error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(60 * time.Second):
		p.kill()
	}
	p.wmu.Lock()
	defer p.wmu.Unlock()
	return p.werr
}

// waitHeld waits until n hook points were reached.
func (p *relayProc) waitHeld(t testing.TB, n int) {
	t.Helper()
	for i := range n {
		select {
		case <-p.held:
		case <-p.done:
			t.Fatalf("relay exited after %d of %d hold points:\n%s", i, n, p.tail())
		case <-time.After(60 * time.Second):
			t.Fatalf("relay reached %d of %d hold points in 60s:\n%s", i, n, p.tail())
		}
	}
}

func (p *relayProc) logText() string {
	b, _ := os.ReadFile(p.logs)
	return string(b)
}

func (p *relayProc) tail() string { return lastLines(p.logText(), 20) }

// vmHWM is the process's peak resident set size in bytes
// (/proc/PID/status VmHWM).
func vmHWM(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb int64
			if _, err := fmt.Sscanf(strings.TrimSpace(rest), "%d kB", &kb); err != nil {
				return 0, err
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", pid)
}

// procGitHub is a fake repository_dispatch endpoint for relay processes.
// It counts dispatches per "token-id repo". behave chooses what a call
// does: "" records it and answers 204; "503" answers 503 Retry-After: 1;
// "hang" hangs before recording (GitHub never created the event);
// "record-hang" records, then hangs (GitHub created it but the relay never
// hears so). A hung call ends when its client goes away.
type procGitHub struct {
	srv    *httptest.Server
	mu     sync.Mutex
	counts map[string]int
	calls  map[string]int
	behave func(tok, repo string, call int) string
	hung   chan string // "tok repo" of each call that hangs
}

func newProcGitHub(t testing.TB, behave func(tok, repo string, call int) string) *procGitHub {
	g := &procGitHub{counts: map[string]int{}, calls: map[string]int{}, behave: behave, hung: make(chan string, 1024)}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /repos/{owner}/{repo}/dispatches", g.handle)
	g.srv = httptest.NewServer(mux)
	t.Cleanup(g.srv.Close)
	return g
}

func (g *procGitHub) handle(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ClientPayload struct {
			ID string `json:"id"`
		} `json:"client_payload"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	repo := r.PathValue("owner") + "/" + r.PathValue("repo")
	key := req.ClientPayload.ID + " " + repo
	g.mu.Lock()
	g.calls[key]++
	n := g.calls[key]
	g.mu.Unlock()
	what := ""
	if g.behave != nil {
		what = g.behave(req.ClientPayload.ID, repo, n)
	}
	record := func() {
		g.mu.Lock()
		g.counts[key]++
		g.mu.Unlock()
	}
	switch what {
	case "503":
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	case "hang":
		g.hung <- key
		<-r.Context().Done()
		return
	case "record-hang":
		record()
		g.hung <- key
		<-r.Context().Done()
		return
	}
	record()
	w.WriteHeader(http.StatusNoContent)
}

// tally counts, for the given token ids and both routed repositories of
// token.expiring, how many dispatches were lost and duplicated.
func (g *procGitHub) tally(ids []string) (dispatched, lost, dup int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, id := range ids {
		for _, repo := range []string{"octo/app", "octo/api"} {
			c := g.counts[id+" "+repo]
			dispatched += c
			if c == 0 {
				lost++
			}
			if c > 1 {
				dup += c - 1
			}
		}
	}
	return dispatched, lost, dup
}

// tooken delivers one webhook the way Tooken does: POST, and on anything
// but 2xx (a dropped connection, 5xx, 502) try again after a pause, up to
// within. url chooses the target of each attempt (round robin, or the
// relay process of the moment). It returns the statuses seen (-1: no
// answer).
func tooken(client *http.Client, url func(attempt int) string, body []byte, within time.Duration) []int {
	sig := Sign(body, testSecret1)
	deadline := time.Now().Add(within)
	var statuses []int
	for attempt := 0; time.Now().Before(deadline); attempt++ {
		req, _ := http.NewRequest(http.MethodPost, url(attempt), strings.NewReader(string(body)))
		req.Header.Set(SignatureHeader, sig)
		resp, err := client.Do(req)
		if err != nil {
			statuses = append(statuses, -1)
			time.Sleep(200 * time.Millisecond)
			continue
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		statuses = append(statuses, resp.StatusCode)
		if resp.StatusCode/100 == 2 || resp.StatusCode == http.StatusConflict {
			return statuses
		}
		time.Sleep(200 * time.Millisecond)
	}
	return statuses
}

func lastStatus(s []int) int {
	if len(s) == 0 {
		return 0
	}
	return s[len(s)-1]
}
