package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenmint/tokenmint/internal/action"
	"github.com/tokenmint/tokenmint/internal/config"
	"github.com/tokenmint/tokenmint/internal/e2e"
	"github.com/tokenmint/tokenmint/internal/fakeserver"
)

// handlerTransport serves requests with h in process: the phases'
// benchmarks measure tokenmint's own work, not the network stack.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	req := r.Clone(r.Context())
	if req.Body == nil {
		req.Body = http.NoBody
	}
	req.RequestURI = r.URL.RequestURI()
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, req)
	return rec.Result(), nil
}

// phaseEnv is one step's environment for the in-process phases.
type phaseEnv struct {
	dir   string
	env   map[string]string
	state map[string]string
}

func newPhaseEnv(b *testing.B, run int) *phaseEnv {
	b.Helper()
	dir := b.TempDir()
	p := &phaseEnv{dir: dir, env: map[string]string{
		"GITHUB_ACTIONS":      "true",
		"GITHUB_REPOSITORY":   "octo-org/octo-repo",
		"GITHUB_RUN_ID":       strconv.Itoa(run),
		"GITHUB_RUN_ATTEMPT":  "1",
		"GITHUB_ACTION":       "mint",
		"GITHUB_WORKSPACE":    dir,
		"GITHUB_OUTPUT":       filepath.Join(dir, "output"),
		"GITHUB_ENV":          filepath.Join(dir, "env"),
		"GITHUB_STATE":        filepath.Join(dir, "state"),
		"GITHUB_STEP_SUMMARY": filepath.Join(dir, "summary"),
		"RUNNER_TEMP":         dir,
	}}
	inputs := map[string]string{"provider": "tooken", "admin-key": fakeserver.TookenKey, "api-url": "http://127.0.0.1/tooken/v1", "scopes": "tokens:read"}
	for _, in := range config.AllInputs() {
		v, ok := inputs[in.Name]
		if !ok {
			v = in.Default
		}
		p.env["INPUT_"+strings.ToUpper(in.Name)] = v
	}
	return p
}

func (p *phaseEnv) reset(b *testing.B) {
	for _, f := range []string{"output", "env", "state", "summary"} {
		if err := os.WriteFile(filepath.Join(p.dir, f), nil, 0o644); err != nil {
			b.Fatal(err)
		}
	}
}

func (p *phaseEnv) run(b *testing.B, client *http.Client, phase string) {
	getenv := func(k string) string {
		if v, ok := strings.CutPrefix(k, "STATE_"); ok {
			return p.state[v]
		}
		return p.env[k]
	}
	rt := &action.Runtime{Getenv: getenv, Stdout: io.Discard, HTTPClient: client, Now: time.Now}
	if err := action.Run(context.Background(), rt, phase); err != nil {
		b.Fatalf("%s phase: %v", phase, err)
	}
}

// loadState reads what main saved, as the runner does between phases.
func (p *phaseEnv) loadState(b *testing.B) {
	st, err := e2e.ParseFileCommands(filepath.Join(p.dir, "state"))
	if err != nil {
		b.Fatal(err)
	}
	p.state = st
}

// BenchmarkMainPhase is the main phase (parse inputs, mint, mask, write
// outputs and state) in process, the fake Tooken behind an in-memory
// transport. Each iteration mints a token under a new name.
func BenchmarkMainPhase(b *testing.B) {
	svc, h := fakeserver.New()
	svc.Tooken.SetRateLimit(1 << 30) // b.N runs past the fake's 1000/min
	client := &http.Client{Transport: handlerTransport{h}}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		b.StopTimer()
		p := newPhaseEnv(b, i)
		p.reset(b)
		i++
		b.StartTimer()
		p.run(b, client, "main")
	}
	b.StopTimer()
	b.ReportMetric(float64(svc.Tooken.Total())/float64(i), "requests/op")
}

// BenchmarkPostPhase is the post phase (read state, revoke) in process;
// the mint it revokes runs outside the timer.
func BenchmarkPostPhase(b *testing.B) {
	svc, h := fakeserver.New()
	svc.Tooken.SetRateLimit(1 << 30) // b.N runs past the fake's 1000/min
	client := &http.Client{Transport: handlerTransport{h}}
	b.ReportAllocs()
	i, reqs := 0, 0
	for b.Loop() {
		b.StopTimer()
		p := newPhaseEnv(b, i)
		p.reset(b)
		p.run(b, client, "main")
		p.loadState(b)
		i++
		before := svc.Tooken.Total()
		b.StartTimer()
		p.run(b, client, "post")
		b.StopTimer()
		reqs += svc.Tooken.Total() - before
		b.StartTimer()
	}
	b.ReportMetric(float64(reqs)/float64(i), "requests/op")
	if live := len(svc.Tooken.Store.Live()); live != 0 {
		b.Fatalf("%d tokens live after the post phases", live)
	}
}

func TestStat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   []int
		want Stat[int]
	}{
		{name: "odd_count", in: []int{5, 1, 3}, want: Stat[int]{Median: 3, Min: 1, Max: 5}},
		{name: "even_count_averages_middle", in: []int{4, 1, 2, 10}, want: Stat[int]{Median: 3, Min: 1, Max: 10}},
		{name: "empty", in: nil, want: Stat[int]{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, stat(tt.in)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestReport_Missed(t *testing.T) {
	t.Parallel()
	good := Summary{CPU: Stat[time.Duration]{Median: 10 * time.Millisecond}, RSSKiB: Stat[int64]{Median: 15000, Max: 16000}, Requests: Stat[int]{Median: 1, Min: 1, Max: 1}}
	tests := []struct {
		name   string
		mutate func(*Report)
		want   []string
	}{
		{name: "all_met", mutate: func(*Report) {}},
		{name: "phase_cpu_over", mutate: func(r *Report) { r.Post.CPU.Median = 41 * time.Millisecond }, want: []string{"main+post CPU 5.10× tokenmint version's > 5.00×"}},
		{name: "startup_over", mutate: func(r *Report) { r.Hello.CPU.Median = 3 * time.Millisecond }, want: []string{"start-up CPU 3.33× the hello-world's > 2.50×"}},
		{name: "container_over", mutate: func(r *Report) { r.Container.PostRatio = 1.2 }, want: []string{"post in a container 1.20× the no-op container > 1.15×"}},
		{name: "no_container_run", mutate: func(r *Report) { r.Container = nil }},
		{name: "rss_over", mutate: func(r *Report) { r.Main.RSSKiB.Max = 31 * 1024 }, want: []string{"main peak RSS 31.0 MiB ≥ 30 MiB"}},
		{name: "binary_over", mutate: func(r *Report) { r.BinaryBytes = 16 << 20 }, want: []string{"binary 16.0 MiB ≥ 15 MiB"}},
		{name: "retried_mint", mutate: func(r *Report) { r.Main.Requests.Max = 2 }, want: []string{"requests per mint 1–2, want exactly 1"}},
		{name: "revoke_skipped", mutate: func(r *Report) { r.Post.Requests.Min = 0 }, want: []string{"requests per revoke 0–1, want exactly 1"}},
		{name: "token_left_live", mutate: func(r *Report) { r.LiveAfter = 1 }, want: []string{"1 tokens still live after post"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			wall := func(d time.Duration) Summary { return Summary{Wall: Stat[time.Duration]{Median: d}} }
			r := Report{Main: good, Post: good, BinaryBytes: 10 << 20,
				Version: Summary{CPU: Stat[time.Duration]{Median: 10 * time.Millisecond}}, Hello: Summary{CPU: Stat[time.Duration]{Median: 8 * time.Millisecond}},
				Container: &ContainerCost{Noop: wall(time.Second), Main: wall(1100 * time.Millisecond), Post: wall(1050 * time.Millisecond), MainRatio: 1.1, PostRatio: 1.05}}
			tt.mutate(&r)
			if diff := cmp.Diff(tt.want, r.Missed()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			var out bytes.Buffer
			r.Print(&out)
			if got := strings.Count(out.String(), "MISSED"); (got > 0) != (len(tt.want) > 0 && tt.name != "token_left_live") {
				t.Errorf("Print shows %d MISSED for %v:\n%s", got, tt.want, out.String())
			}
		})
	}
}

func TestPairedRatio(t *testing.T) {
	t.Parallel()
	ms := func(ds ...int) []Sample {
		var out []Sample
		for _, d := range ds {
			out = append(out, Sample{Wall: time.Duration(d) * time.Millisecond})
		}
		return out
	}
	// Per-run ratios 2.2, 1.2 and 0.2: their median is 1.2 (the medians
	// of the two columns would give 1.1).
	if got := pairedRatio(ms(1100, 1200, 600), ms(500, 1000, 3000)); got < 1.199 || got > 1.201 {
		t.Errorf("pairedRatio = %.3f, want 1.2", got)
	}
	if got := pairedRatio(ms(300, 100), ms(100, 100)); got != 2 {
		t.Errorf("pairedRatio of an even count = %.3f, want the mean of the middle two, 2", got)
	}
	if got := pairedRatio(nil, nil); got != 0 {
		t.Errorf("pairedRatio(nil) = %v", got)
	}
}
