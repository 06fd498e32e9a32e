package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenmint/tokenmint/internal/config"
	"github.com/tokenmint/tokenmint/internal/fakeserver"
)

func TestGitHubAppSetup_inputsAreValid(t *testing.T) {
	t.Parallel()
	svc, _ := fakeserver.New()
	inputs, count, err := githubAppSetup("http://127.0.0.1:1", svc)
	if err != nil {
		t.Fatal(err)
	}
	env := config.Env{Repository: "octo-org/octo-repo", RunID: "9000", RunAttempt: "1", Action: "mint", Now: time.Now}
	cfg, err := config.Parse(config.Values(inputs), env)
	if err != nil {
		t.Fatalf("the scenario's inputs do not parse: %v", err)
	}
	got := []any{cfg.Provider, cfg.APIURL, cfg.Owner, cfg.Repositories, count()}
	want := []any{"github-app", "http://127.0.0.1:1/github", "octo-org", []string{"alpha"}, 0}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestReport_Missed_githubApp(t *testing.T) {
	t.Parallel()
	req := func(n int) Stat[int] { return Stat[int]{Median: n, Min: n, Max: n} }
	base := Summary{CPU: Stat[time.Duration]{Median: 10 * time.Millisecond}, RSSKiB: Stat[int64]{Median: 15000, Max: 16000}}
	tests := []struct {
		name       string
		provider   string
		mint, post int
		want       []string
	}{
		{name: "github_app_lookup_and_create", provider: "github-app", mint: 2, post: 1},
		{name: "github_app_extra_request", provider: "github-app", mint: 3, post: 1, want: []string{"requests per mint 3–3, want exactly 2"}},
		{name: "tooken_keeps_floor_one", provider: "tooken", mint: 2, post: 1, want: []string{"requests per mint 2–2, want exactly 1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, p := base, base
			m.Requests, p.Requests = req(tt.mint), req(tt.post)
			r := Report{Provider: tt.provider, Main: m, Post: p, BinaryBytes: 10 << 20}
			if diff := cmp.Diff(tt.want, r.Missed()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			var out bytes.Buffer
			r.Print(&out)
			if got := strings.Count(out.String(), "MISSED"); (got > 0) != (len(tt.want) > 0) {
				t.Errorf("Print shows %d MISSED for %v:\n%s", got, tt.want, out.String())
			}
		})
	}
}
