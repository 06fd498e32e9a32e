package shipcheck

// The image in a real Docker engine, run the way the Actions runner runs a
// container action (../shared/runner.md). scripts/container-test.sh (and,
// in CI, .ci/services/docker.sh) starts the engine, builds the image and
// sets TOKENMINT_TEST_DOCKER (the client), DOCKER_HOST and
// TOKENMINT_TEST_DOCKER_IMAGE. Without them the tests skip, or fail when
// CI is set.
//
// The fakes are the handler `tokenmint fake-server` serves, run in this
// process so that the tests assert on their token stores, not on log
// text. Containers use the host's network (--network host) where the
// runner would use Docker's default bridge: the engine runs with
// --bridge=none here (the machine has no iptables for a bridge), and the
// fakes listen on 127.0.0.1 only, which a bridged container could not
// reach.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenmint/tokenmint/internal/config"
	"github.com/tokenmint/tokenmint/internal/e2e"
	"github.com/tokenmint/tokenmint/internal/fakeserver"
	"github.com/tokenmint/tokenmint/internal/relay"
)

// engine is the Docker client and image under test.
type engine struct{ docker, image string }

func needEngine(t *testing.T) engine {
	t.Helper()
	e := engine{docker: os.Getenv("TOKENMINT_TEST_DOCKER"), image: os.Getenv("TOKENMINT_TEST_DOCKER_IMAGE")}
	if e.docker == "" || e.image == "" {
		if later := os.Getenv("TOKENMINT_TEST_DOCKER_LATER"); later != "" {
			t.Skipf("the image is still being built: %s runs this test once it is ready", later)
		}
		if os.Getenv("CI") != "" {
			t.Fatal("TOKENMINT_TEST_DOCKER and TOKENMINT_TEST_DOCKER_IMAGE are unset under CI: .ci/services/docker.sh (scripts/container-test.sh) sets them")
		}
		t.Skip("no Docker engine: run bash scripts/container-test.sh")
	}
	return e
}

// fakes serves the fake services on 127.0.0.1.
func fakes(t *testing.T) (*fakeserver.Services, map[string]string) {
	t.Helper()
	svc, h := fakeserver.New()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	urls := fakeserver.APIURLs("http://" + ln.Addr().String())
	serve(t, ln, h)
	// The secrets fake also at a root of its own: a github-api-url with a
	// path is taken for GHES (go-github appends /api/v3), which the /github
	// prefix of the combined handler does not serve.
	gh, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serve(t, gh, svc.Secrets)
	urls["github"] = "http://" + gh.Addr().String()
	return svc, urls
}

func serve(t *testing.T, ln net.Listener, h http.Handler) {
	t.Helper()
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
}

// containerJob is one step: the directories the runner mounts and the
// step's inputs.
type containerJob struct {
	e       engine
	dir     string
	inputs  map[string]string
	secrets []string          // every value that must never be printed
	env     map[string]string // overrides of the runner's variables
	outputs map[string]string
	envOut  map[string]string
	state   map[string]string
}

// The runner's mounts and file-command files (Runner.Worker's
// ContainerActionHandler: /github/file_commands/<command>_<guid>).
var mounts = []string{"workspace", "home", "workflow", "file_commands", "runner_temp"}

const (
	fcOutput  = "set_output_9c1c0f4e"
	fcEnv     = "set_env_9c1c0f4e"
	fcState   = "save_state_9c1c0f4e"
	fcSummary = "step_summary_9c1c0f4e"
)

func newContainerJob(t *testing.T, e engine, inputs map[string]string, secrets ...string) *containerJob {
	t.Helper()
	dir := t.TempDir()
	for _, m := range mounts {
		if err := os.MkdirAll(filepath.Join(dir, m), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{fcOutput, fcEnv, fcState, fcSummary} {
		if err := os.WriteFile(filepath.Join(dir, "file_commands", f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "workflow", "event.json"), []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return &containerJob{e: e, dir: dir, inputs: inputs, secrets: secrets}
}

// phaseResult is what one docker run printed and returned.
type phaseResult struct {
	stdout, stderr string
	code           int
}

// run starts the phase as the runner does: docker run --rm --workdir
// /github/workspace, the runner's mounts, -e NAME for every INPUT_* (dashes
// kept, action.yml's defaults) and GITHUB_* variable, the values in the
// client's environment (never on its command line), --entrypoint
// /entrypoint/main or /entrypoint/post; post gets STATE_* from the state
// file main wrote.
func (j *containerJob) run(t *testing.T, entry string) phaseResult {
	t.Helper()
	env := map[string]string{
		"HOME":                "/github/home",
		"CI":                  "true",
		"GITHUB_ACTIONS":      "true",
		"GITHUB_REPOSITORY":   "octo-org/octo-repo",
		"GITHUB_RUN_ID":       "7100",
		"GITHUB_RUN_ATTEMPT":  "1",
		"GITHUB_ACTION":       "mint",
		"GITHUB_WORKSPACE":    "/github/workspace",
		"GITHUB_EVENT_PATH":   "/github/workflow/event.json",
		"GITHUB_OUTPUT":       "/github/file_commands/" + fcOutput,
		"GITHUB_ENV":          "/github/file_commands/" + fcEnv,
		"GITHUB_STATE":        "/github/file_commands/" + fcState,
		"GITHUB_STEP_SUMMARY": "/github/file_commands/" + fcSummary,
		"RUNNER_TEMP":         "/github/runner_temp",
	}
	for _, in := range config.AllInputs() {
		v, ok := j.inputs[in.Name]
		if !ok {
			v = in.Default
		}
		env["INPUT_"+strings.ToUpper(in.Name)] = v
	}
	for k, v := range j.env {
		env[k] = v
	}
	if entry == "/entrypoint/post" {
		for k, v := range j.state {
			env["STATE_"+k] = v
		}
	}
	args := []string{"run", "--rm", "--network", "host", "--workdir", "/github/workspace"}
	for _, m := range mounts {
		args = append(args, "-v", filepath.Join(j.dir, m)+":/github/"+m)
	}
	names := make([]string, 0, len(env))
	for k := range env {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		args = append(args, "-e", k)
	}
	args = append(args, "--entrypoint", entry, j.e.image)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, j.e.docker, args...)
	cmd.Env = os.Environ()
	for _, k := range names {
		cmd.Env = append(cmd.Env, k+"="+env[k])
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := phaseResult{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		t.Fatalf("failed to run docker: %v", err)
	}
	if strings.Contains(r.stderr, "docker: ") || r.code == 125 || r.code == 126 || r.code == 127 {
		t.Fatalf("docker could not run %s (exit %d): %s", entry, r.code, r.stderr)
	}
	j.checkPrinted(t, entry, r)
	j.read(t)
	return r
}

// checkPrinted scans one phase's output on its own: no form of a secret
// outside an ::add-mask:: line, and every secret the phase handled
// announced to the runner with ::add-mask:: before any other line could
// hold it.
func (j *containerJob) checkPrinted(t *testing.T, entry string, r phaseResult) {
	t.Helper()
	secrets := slices.Clone(j.secrets)
	if tok := j.outputs["token"]; tok != "" {
		secrets = append(secrets, tok)
	}
	for stream, text := range map[string]string{"stdout": r.stdout, "stderr": r.stderr} {
		for line := range strings.SplitSeq(text, "\n") {
			if strings.HasPrefix(line, "::add-mask::") {
				continue
			}
			for i, s := range secrets {
				for _, form := range e2e.Forms(s) {
					if strings.Contains(line, form) {
						t.Errorf("%s %s printed a form of secret #%d unmasked", entry, stream, i)
					}
				}
			}
		}
	}
}

func (j *containerJob) read(t *testing.T) {
	t.Helper()
	var err error
	fc := filepath.Join(j.dir, "file_commands")
	if j.outputs, err = e2e.ParseFileCommands(filepath.Join(fc, fcOutput)); err != nil {
		t.Fatalf("GITHUB_OUTPUT: %v", err)
	}
	if j.envOut, err = e2e.ParseFileCommands(filepath.Join(fc, fcEnv)); err != nil {
		t.Fatalf("GITHUB_ENV: %v", err)
	}
	if j.state, err = e2e.ParseFileCommands(filepath.Join(fc, fcState)); err != nil {
		t.Fatalf("GITHUB_STATE: %v", err)
	}
}

func masked(r phaseResult, secret string) bool {
	return strings.Contains(r.stdout, "::add-mask::"+secret+"\n")
}

// TestContainerDeployJob: mint, outputs, env, then post revokes.
func TestContainerDeployJob(t *testing.T) {
	e := needEngine(t)
	svc, urls := fakes(t)
	j := newContainerJob(t, e, map[string]string{
		"provider":   "tooken",
		"admin-key":  fakeserver.TookenKey,
		"api-url":    urls["tooken"],
		"scopes":     "tokens:read",
		"ttl":        "30m",
		"export-env": "API_TOKEN",
	}, fakeserver.TookenKey)

	m := j.run(t, "/entrypoint/main")
	if m.code != 0 {
		t.Fatalf("main exit %d:\n%s%s", m.code, m.stdout, m.stderr)
	}
	live := svc.Tooken.Store.Live()
	if len(live) != 1 {
		t.Fatalf("after main the fake holds %d live tokens, want 1", len(live))
	}
	tok := live[0]
	if diff := cmp.Diff(map[string]string{"token": tok.Secret, "token-id": tok.ID, "token-name": tok.Name, "scopes": "tokens:read"},
		map[string]string{"token": j.outputs["token"], "token-id": j.outputs["token-id"], "token-name": j.outputs["token-name"], "scopes": j.outputs["scopes"]}); diff != "" {
		t.Errorf("outputs differ from the fake's token (-store +outputs):\n%s", diff)
	}
	if !strings.HasPrefix(tok.Name, "tokenmint-octo-org-octo-repo-7100-1-") {
		t.Errorf("token name %q is not the step's default name", tok.Name)
	}
	if got := tok.ExpiresAt.Sub(tok.CreatedAt); got < 29*time.Minute || got > 31*time.Minute {
		t.Errorf("token lives %s, want the 30m ttl", got)
	}
	if j.envOut["API_TOKEN"] != tok.Secret {
		t.Error("GITHUB_ENV does not export API_TOKEN as the minted token")
	}
	if !masked(m, tok.Secret) {
		t.Errorf("main did not announce ::add-mask:: for the token:\n%s", m.stdout)
	}

	p := j.run(t, "/entrypoint/post")
	if p.code != 0 {
		t.Fatalf("post exit %d:\n%s%s", p.code, p.stdout, p.stderr)
	}
	if got, _ := svc.Tooken.Store.Get(tok.ID); !got.Revoked {
		t.Errorf("post did not revoke %s", tok.ID)
	}
	if n := len(svc.Tooken.Store.Live()); n != 0 {
		t.Errorf("%d tokens live after post", n)
	}
}

// rotationInputs writes the minted token into secretName of three
// repositories at the fake GitHub.
func rotationInputs(urls map[string]string, secretName string) map[string]string {
	return map[string]string{
		"provider":            "tooken",
		"admin-key":           fakeserver.TookenKey,
		"api-url":             urls["tooken"],
		"scopes":              "tokens:read",
		"ttl":                 "7d",
		"github-token":        fakeserver.GitHubToken,
		"github-api-url":      urls["github"],
		"secret-name":         secretName,
		"secret-repositories": "octo-org/app, octo-org/api, octo-org/web",
	}
}

// TestContainerRotationJob: the token lands in every secret and post keeps it.
func TestContainerRotationJob(t *testing.T) {
	e := needEngine(t)
	svc, urls := fakes(t)
	j := newContainerJob(t, e, rotationInputs(urls, "API_TOKEN"), fakeserver.TookenKey, fakeserver.GitHubToken)
	m := j.run(t, "/entrypoint/main")
	if m.code != 0 {
		t.Fatalf("main exit %d:\n%s%s", m.code, m.stdout, m.stderr)
	}
	live := svc.Tooken.Store.Live()
	if len(live) != 1 {
		t.Fatalf("after main the fake holds %d live tokens, want 1", len(live))
	}
	for _, repo := range []string{"app", "api", "web"} {
		s, ok := svc.Secrets.RepoSecret("actions", "octo-org", repo, "API_TOKEN")
		if !ok || s.Value != live[0].Secret {
			t.Errorf("octo-org/%s: the secret does not hold the minted token (present: %v)", repo, ok)
		}
	}
	if !masked(m, live[0].Secret) {
		t.Error("main did not announce ::add-mask:: for the token")
	}
	if p := j.run(t, "/entrypoint/post"); p.code != 0 {
		t.Fatalf("post exit %d:\n%s%s", p.code, p.stdout, p.stderr)
	}
	if got, _ := svc.Tooken.Store.Get(live[0].ID); got.Revoked {
		t.Error("post revoked the token the secrets hold (revoke: auto keeps it)")
	}
}

// TestContainerFailingJob: main mints, then fails (GITHUB_ENV cannot be
// written: it names a directory), and post, which the runner still runs
// (post-if: always()), revokes the token from the state main saved.
func TestContainerFailingJob(t *testing.T) {
	e := needEngine(t)
	svc, urls := fakes(t)
	j := newContainerJob(t, e, map[string]string{
		"provider":   "tooken",
		"admin-key":  fakeserver.TookenKey,
		"api-url":    urls["tooken"],
		"scopes":     "tokens:read",
		"export-env": "API_TOKEN",
	}, fakeserver.TookenKey)
	if err := os.Mkdir(filepath.Join(j.dir, "file_commands", "not_a_file"), 0o755); err != nil {
		t.Fatal(err)
	}
	j.env = map[string]string{"GITHUB_ENV": "/github/file_commands/not_a_file"}
	m := j.run(t, "/entrypoint/main")
	if m.code == 0 {
		t.Fatalf("main succeeded although GITHUB_ENV is a directory:\n%s", m.stdout)
	}
	all := svc.Tooken.Store.All()
	if len(all) != 1 || all[0].Revoked {
		t.Fatalf("after the failed main want one live token, the store holds %d", len(all))
	}
	if len(j.state) == 0 {
		t.Fatal("the failed main saved no state for post")
	}
	if p := j.run(t, "/entrypoint/post"); p.code != 0 {
		t.Fatalf("post exit %d:\n%s%s", p.code, p.stdout, p.stderr)
	}
	if got, _ := svc.Tooken.Store.Get(all[0].ID); !got.Revoked {
		t.Errorf("post after the failed main did not revoke %s", all[0].ID)
	}
}

// dispatches is a fake of GitHub's repository_dispatch endpoint.
type dispatches struct {
	mu  sync.Mutex
	got []string // "owner/repo event_type client_payload.id"
}

func (d *dispatches) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.Header.Get("Authorization") != "Bearer "+fakeserver.GitHubToken {
		http.Error(w, `{"message":"Bad credentials"}`, http.StatusUnauthorized)
		return
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) != 4 || parts[0] != "repos" || parts[3] != "dispatches" {
		http.NotFound(w, r)
		return
	}
	var body struct {
		EventType     string         `json:"event_type"`
		ClientPayload map[string]any `json:"client_payload"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	d.mu.Lock()
	d.got = append(d.got, fmt.Sprintf("%s/%s %s %v", parts[1], parts[2], body.EventType, body.ClientPayload["id"]))
	d.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (d *dispatches) list() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Sorted(slices.Values(d.got))
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// TestContainerRelay: `docker run IMAGE relay` answers a signed webhook
// with a repository_dispatch at (fake) GitHub, refuses a forged one, and
// stops on SIGTERM.
func TestContainerRelay(t *testing.T) {
	e := needEngine(t)
	d := &dispatches{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gh := &http.Server{Handler: d, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = gh.Serve(ln) }()
	t.Cleanup(func() { _ = gh.Close() })

	dir := t.TempDir()
	routes := "routes:\n  - events: [token.expiring]\n    repositories: [octo/app, octo/api]\n"
	if err := os.WriteFile(filepath.Join(dir, "relay.yaml"), []byte(routes), 0o644); err != nil {
		t.Fatal(err)
	}
	const secret = "whsec_containertest0123456789abcdef"
	addr := freePort(t)
	name := fmt.Sprintf("tokenmint-relay-test-%d", time.Now().UnixNano())
	cmd := exec.Command(e.docker, "run", "--rm", "--name", name, "--network", "host",
		"-e", "TOKENMINT_WEBHOOK_SECRETS", "-e", "GITHUB_TOKEN",
		"-v", filepath.Join(dir, "relay.yaml")+":/etc/tokenmint/relay.yaml:ro",
		e.image, "relay", "--addr", addr, "--config", "/etc/tokenmint/relay.yaml",
		"--github-api-url", "http://"+ln.Addr().String())
	cmd.Env = append(os.Environ(), "TOKENMINT_WEBHOOK_SECRETS="+secret, "GITHUB_TOKEN="+fakeserver.GitHubToken)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	started := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = exec.Command(e.docker, "rm", "-f", name).Run()
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
		}
	})

	client := &http.Client{Timeout: 10 * time.Second}
	up := false
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		resp, err := client.Get("http://" + addr + "/healthz")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				up = true
				break
			}
		}
	}
	if !up {
		t.Fatalf("the relay did not answer /healthz:\n%s", out.String())
	}
	t.Logf("relay up after %s", time.Since(started).Round(time.Millisecond))
	post := func(body []byte, sig string) int {
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/webhook", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(relay.SignatureHeader, sig)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("failed to post the webhook: %v", err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	webhook := func(id string) []byte {
		b, _ := json.Marshal(map[string]any{
			"event": "token.expiring", "timestamp": time.Now().UTC().Format(time.RFC3339),
			"data": map[string]any{"id": id, "name": "ci-deploy", "scopes": []string{"tokens:read"}, "expires_at": time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)},
		})
		return b
	}
	forged := webhook("tok_forged")
	if st := post(forged, relay.Sign(forged, "whsec_not-the-secret-00000000000")); st != http.StatusUnauthorized {
		t.Errorf("a webhook signed with another secret got %d, want 401", st)
	}
	signed := webhook("tok_container1")
	if st := post(signed, relay.Sign(signed, secret)); st/100 != 2 {
		t.Fatalf("the signed webhook got %d, want 2xx:\n%s", st, out.String())
	}
	want := []string{"octo/api tooken.token.expiring tok_container1", "octo/app tooken.token.expiring tok_container1"}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && len(d.list()) < len(want); time.Sleep(20 * time.Millisecond) {
	}
	t.Logf("dispatched after %s", time.Since(started).Round(time.Millisecond))
	// SIGTERM drains the queue and exits 0.
	if err := exec.Command(e.docker, "stop", "--time", "20", name).Run(); err != nil {
		t.Errorf("docker stop: %v", err)
	}
	select {
	case <-exited:
		if waitErr != nil {
			t.Errorf("the relay container exited with %v after SIGTERM:\n%s", waitErr, out.String())
		}
	case <-time.After(30 * time.Second):
		t.Error("the relay container did not exit after SIGTERM")
	}
	t.Logf("stopped after %s", time.Since(started).Round(time.Millisecond))
	if diff := cmp.Diff(want, d.list()); diff != "" {
		t.Errorf("dispatches at GitHub (-want +got):\n%s", diff)
	}
	if strings.Contains(out.String(), secret) || strings.Contains(out.String(), fakeserver.GitHubToken) {
		t.Error("the relay printed a secret")
	}
}

// ImageBudget bounds the image: the two static binaries on a base of a
// few hundred kilobytes (about 14 MB in all).
const ImageBudget = 16 << 20

// TestContainerImage: the image's size and the runner's needs (root, no
// WORKDIR, the CLI as default entry point).
func TestContainerImage(t *testing.T) {
	e := needEngine(t)
	out, err := exec.Command(e.docker, "image", "inspect", "--format", "{{json .Size}} {{json .Config.User}} {{json .Config.WorkingDir}} {{json .Config.Entrypoint}}", e.image).CombinedOutput()
	if err != nil {
		t.Fatalf("docker image inspect: %v\n%s", err, out)
	}
	var size int64
	var user, workdir string
	var entry []string
	fields := strings.Fields(string(out))
	for i, v := range []any{&size, &user, &workdir, &entry} {
		if i >= len(fields) {
			t.Fatalf("unexpected inspect output %q", out)
		}
		if err := json.Unmarshal([]byte(fields[i]), v); err != nil {
			t.Fatalf("inspect field %d %q: %v", i, fields[i], err)
		}
	}
	t.Logf("image %s: %d bytes (%.1f MB)", e.image, size, float64(size)/1e6)
	if size >= ImageBudget {
		t.Errorf("image is %d bytes, budget %d", size, ImageBudget)
	}
	if user != "" && user != "root" && user != "0" {
		t.Errorf("image user %q: the runner needs root", user)
	}
	if workdir != "" {
		t.Errorf("image WORKDIR %q: the runner passes --workdir", workdir)
	}
	if diff := cmp.Diff([]string{"/tokenmint"}, entry); diff != "" {
		t.Errorf("entry point (-want +got):\n%s", diff)
	}
}
