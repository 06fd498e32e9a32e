package relay

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenmint/tokenmint/internal/fake"
)

func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// usageNames lists the Name of every *UsageError in err.
func usageNames(err error) []string {
	var out []string
	var walk func(error)
	walk = func(e error) {
		var ue *UsageError
		if !errors.As(e, &ue) {
			return
		}
		if j, ok := ue.Err.(interface{ Unwrap() []error }); ok && ue.Name == "" {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		out = append(out, ue.Name)
	}
	walk(err)
	return out
}

func TestParseFlags(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		args      []string
		env       map[string]string
		want      *options
		wantNames []string
	}{
		{
			name: "defaults",
			args: []string{"--config", "r.yaml"},
			want: &options{addr: DefaultAddr, config: "r.yaml", apiURL: DefaultGitHubAPIURL, tolerance: DefaultTolerance, replayWindow: DefaultReplayWindow, concurrency: DefaultConcurrency, shutdownTimeout: DefaultShutdownTimeout, dispatchTimeout: DefaultDispatchTimeout, maxConnections: DefaultMaxConnections, redisURLFrom: EnvRedisURL, redisPrefix: DefaultRedisPrefix},
		},
		{
			name: "from_env",
			env: map[string]string{EnvAddr: ":9000", EnvConfig: "/etc/relay.yaml", EnvGitHubAPIURL: "https://ghe.example.com/api/v3",
				EnvTolerance: "2m", EnvReplayWindow: "1h", EnvConcurrency: "8", EnvShutdownTimeout: "5s",
				EnvDispatchTimeout: "3s", EnvMaxConnections: "64", EnvRedisURL: "redis://:pw@127.0.0.1:6379/2", EnvRedisPrefix: "r1:"},
			want: &options{addr: ":9000", config: "/etc/relay.yaml", apiURL: "https://ghe.example.com/api/v3", tolerance: 2 * time.Minute, replayWindow: time.Hour, concurrency: 8, shutdownTimeout: 5 * time.Second,
				dispatchTimeout: 3 * time.Second, maxConnections: 64, redisURL: "redis://:pw@127.0.0.1:6379/2", redisURLFrom: EnvRedisURL, redisPrefix: "r1:"},
		},
		{
			name: "flags_beat_env",
			args: []string{"--addr=127.0.0.1:0", "--config", "b.yaml", "--tolerance", "1m", "--replay-window", "30m", "--concurrency", "2", "--github-api-url", "http://127.0.0.1:1",
				"--dispatch-timeout", "4s", "--max-connections", "32", "--redis-url", "redis://127.0.0.1:1/3", "--redis-prefix", "x:"},
			env: map[string]string{EnvAddr: ":9000", EnvConfig: "a.yaml", EnvConcurrency: "8", EnvRedisURL: "redis://:pw@127.0.0.1:6379", EnvMaxConnections: "64"},
			want: &options{addr: "127.0.0.1:0", config: "b.yaml", apiURL: "http://127.0.0.1:1", tolerance: time.Minute, replayWindow: 30 * time.Minute, concurrency: 2, shutdownTimeout: DefaultShutdownTimeout,
				dispatchTimeout: 4 * time.Second, maxConnections: 32, redisURL: "redis://127.0.0.1:1/3", redisURLFrom: "--redis-url", redisPrefix: "x:"},
		},
		{name: "missing_config", args: nil, wantNames: []string{"--config"}},
		{name: "unknown_flag", args: []string{"--config", "r", "--webhook-secret", "x"}, wantNames: []string{""}},
		{name: "positional_argument", args: []string{"--config", "r", "extra"}, wantNames: []string{""}},
		{name: "bad_env_duration", args: []string{"--config", "r"}, env: map[string]string{EnvTolerance: "soon", EnvConcurrency: "many"}, wantNames: []string{EnvTolerance, EnvConcurrency}},
		{
			name:      "bad_values",
			args:      []string{"--config", "r", "--tolerance", "-1s", "--replay-window", "0s", "--concurrency", "0", "--addr", "nowhere", "--github-api-url", "http://ghe.example.com"},
			wantNames: []string{"--tolerance", "--replay-window", "--concurrency", "--addr", "--github-api-url"},
		},
		{name: "concurrency_too_high", args: []string{"--config", "r", "--concurrency", "257"}, wantNames: []string{"--concurrency"}},
		{name: "redis_password_in_flag", args: []string{"--config", "r", "--redis-url", "redis://:hunter2-secret@127.0.0.1:6379"}, wantNames: []string{"--redis-url"}},
		{name: "redis_bad_url_env", args: []string{"--config", "r"}, env: map[string]string{EnvRedisURL: "http://:hunter2-secret@127.0.0.1:6379"}, wantNames: []string{EnvRedisURL}},
		{name: "bad_limits", args: []string{"--config", "r", "--dispatch-timeout", "0s", "--max-connections", "3"}, wantNames: []string{"--dispatch-timeout", "--max-connections"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var stdout bytes.Buffer
			got, err := parseFlags(tc.args, &stdout, envMap(tc.env))
			if tc.wantNames != nil {
				if diff := cmp.Diff(tc.wantNames, usageNames(err)); diff != "" {
					t.Errorf("usage error names (-want +got):\n%s\nerror: %v", diff, err)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("error spans lines: %q", err.Error())
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Errorf("error repeats the Redis password: %q", err.Error())
				}
				return
			}
			if err != nil {
				t.Fatalf("parseFlags: %v", err)
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(options{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestMain_Help(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	if err := Main(context.Background(), []string{"--help"}, &stdout, &stderr, envMap(nil)); err != nil {
		t.Fatalf("Main --help: %v", err)
	}
	for _, want := range []string{"--addr", "--config", "--github-api-url", "--tolerance", "--replay-window", "--concurrency", EnvWebhookSecrets} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("usage lacks %q", want)
		}
	}
	if _, err := parseFlags([]string{"-h"}, &bytes.Buffer{}, envMap(nil)); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("parseFlags -h = %v, want flag.ErrHelp", err)
	}
}

func TestMain_StartupErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(good, []byte(testRoutesYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("routes:\n  - events: [token.nope]\n    repositories: [octo/app]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	secrets := map[string]string{EnvWebhookSecrets: testSecret1 + "\n" + testSecret2, EnvGitHubToken: testToken}
	cases := []struct {
		name       string
		args       []string
		env        map[string]string
		wantNames  []string
		wantInText string
	}{
		{name: "no_secrets", args: []string{"--config", good}, env: map[string]string{EnvGitHubToken: testToken}, wantNames: []string{EnvWebhookSecrets}},
		{name: "blank_secrets", args: []string{"--config", good}, env: map[string]string{EnvGitHubToken: testToken, EnvWebhookSecrets: " ,\n, "}, wantNames: []string{EnvWebhookSecrets}},
		{name: "no_token", args: []string{"--config", good}, env: map[string]string{EnvWebhookSecrets: testSecret1}, wantNames: []string{EnvGitHubToken}},
		{name: "bad_routes_name_the_field", args: []string{"--config", bad}, env: secrets, wantNames: []string{"--config"}, wantInText: "routes[0].events[0]"},
		{name: "missing_routes_file", args: []string{"--config", filepath.Join(dir, "nope.yaml")}, env: secrets, wantNames: []string{"--config"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			err := Main(context.Background(), tc.args, &stdout, &stderr, envMap(tc.env))
			if diff := cmp.Diff(tc.wantNames, usageNames(err)); diff != "" {
				t.Errorf("usage error names (-want +got):\n%s\nerror: %v", diff, err)
			}
			if !strings.Contains(err.Error(), tc.wantInText) {
				t.Errorf("error %q lacks %q", err, tc.wantInText)
			}
			assertNoSecrets(t, "error", err.Error())
			assertNoSecrets(t, "stderr", stderr.String())
		})
	}
}

func TestMain_ServesUntilCancelled(t *testing.T) {
	t.Parallel()
	gh := newFakeGitHub(t)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "routes.yaml")
	if err := os.WriteFile(cfgPath, []byte(testRoutesYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		EnvWebhookSecrets: " " + testSecret1 + " , " + testSecret2 + "\n",
		EnvGitHubToken:    testToken,
		EnvGitHubAPIURL:   gh.srv.URL,
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrc := make(chan string, 1)
	stderr := &fake.SyncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--config", cfgPath}, &bytes.Buffer{}, stderr, envMap(env), &runHooks{ready: func(a string) { addrc <- a }})
	}()
	var addr string
	select {
	case addr = <-addrc:
	case err := <-done:
		t.Fatalf("run returned early: %v", err)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	send := func(body []byte, sig string) int {
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/webhook", bytes.NewReader(body))
		req.Header.Set(SignatureHeader, sig)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("POST: %v", err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	body := webhook("token.expiring", time.Now().UTC().Format(time.RFC3339), "tok_live", "deploy")
	if got := send(body, Sign(body, testSecret2)); got != http.StatusOK {
		t.Errorf("signed: status = %d, want 200", got)
	}
	forged := webhook("token.expiring", time.Now().UTC().Format(time.RFC3339), "tok_forged", "deploy")
	if got := send(forged, Sign(forged, "whsec_attacker-guess-00000000000")); got != http.StatusUnauthorized {
		t.Errorf("forged: status = %d, want 401", got)
	}
	resp, err := client.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("healthz = %d, want 200", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	got := map[string]string{}
	for _, d := range gh.dispatches() {
		got[d.Repo] = d.ClientPayload["id"].(string)
	}
	if diff := cmp.Diff(map[string]string{"octo/app": "tok_live", "octo/api": "tok_live"}, got); diff != "" {
		t.Errorf("dispatches (-want +got):\n%s", diff)
	}
	logs := stderr.String()
	assertNoSecrets(t, "stderr", logs)
	for _, want := range []string{`"msg":"relay listening"`, `"msg":"relay stopped"`, `"dispatched":2`} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s", want)
		}
	}
}

func TestSplitSecrets(t *testing.T) {
	t.Parallel()
	got := SplitSecrets(" a1 ,b2\r\n\n c3,, ")
	var vals []string
	for _, s := range got {
		vals = append(vals, s.Reveal())
	}
	if diff := cmp.Diff([]string{"a1", "b2", "c3"}, vals); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestMain_RedisUnreachable: the relay starts with Redis down, says so,
// answers signed webhooks 503 (fail closed) and never prints the password.
func TestMain_RedisUnreachable(t *testing.T) {
	t.Parallel()
	gh := newFakeGitHub(t)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "routes.yaml")
	if err := os.WriteFile(cfgPath, []byte(testRoutesYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	const password = "hunter2-redis-pass"
	env := map[string]string{
		EnvWebhookSecrets: testSecret1,
		EnvGitHubToken:    testToken,
		EnvGitHubAPIURL:   gh.srv.URL,
		EnvRedisURL:       "redis://:" + password + "@" + dead + "/0",
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrc := make(chan string, 1)
	stderr := &fake.SyncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--config", cfgPath}, &bytes.Buffer{}, stderr, envMap(env), &runHooks{ready: func(a string) { addrc <- a }})
	}()
	var addr string
	select {
	case addr = <-addrc:
	case err := <-done:
		t.Fatalf("run returned early: %v", err)
	}
	body := webhook("token.expiring", time.Now().UTC().Format(time.RFC3339), "tok_1", "n")
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/webhook", bytes.NewReader(body))
	req.Header.Set(SignatureHeader, Sign(body, testSecret1))
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("status %d, want 503", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
	if n := gh.callCount("octo/app") + gh.callCount("octo/api"); n != 0 {
		t.Errorf("%d dispatches without the replay store", n)
	}
	logs := stderr.String()
	for _, want := range []string{"Redis unreachable", "replay store unavailable", `"store":"redis ` + dead + `"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q", want)
		}
	}
	if strings.Contains(logs, password) {
		t.Errorf("logs hold the Redis password")
	}
}
