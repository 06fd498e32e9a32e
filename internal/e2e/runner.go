// Package e2e runs the tokenmint binary the way the GitHub Actions runner
// runs a container action (../shared/runner.md): it builds the binary and
// the entry-point shim, sets INPUT_* (dashes kept, action.yml defaults
// applied), the file-command files and the GITHUB_* context, runs the main
// phase through /entrypoint/main, parses the files by the runner's rules,
// hands the saved state to the post phase as STATE_*, and scans everything
// printed for secrets.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenmint/tokenmint/internal/config"
)

// Binaries are the built executables.
type Binaries struct {
	Dir        string
	Tokenmint  string
	EntryMain  string
	EntryPost  string
	buildError error
}

var (
	buildOnce sync.Once
	built     Binaries
)

// moduleRoot finds the directory holding go.mod.
func moduleRoot() (string, error) {
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Dir(file)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found")
		}
		dir = parent
	}
}

// Build compiles tokenmint and the entry-point shim once per test binary.
// The shim is installed as .../entrypoint/main and .../entrypoint/post,
// as in the image, and execs the built tokenmint.
func Build(t testing.TB) Binaries {
	t.Helper()
	buildOnce.Do(func() {
		root, err := moduleRoot()
		if err != nil {
			built.buildError = err
			return
		}
		dir, err := os.MkdirTemp("", "tokenmint-e2e-")
		if err != nil {
			built.buildError = err
			return
		}
		built.Dir = dir
		built.Tokenmint = filepath.Join(dir, "tokenmint")
		built.EntryMain = filepath.Join(dir, "entrypoint", "main")
		built.EntryPost = filepath.Join(dir, "entrypoint", "post")
		run := func(args ...string) error {
			cmd := exec.Command("go", args...)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			out, err := cmd.CombinedOutput()
			if err != nil {
				return fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
			}
			return nil
		}
		if err := run("build", "-o", built.Tokenmint, "./cmd/tokenmint"); err != nil {
			built.buildError = err
			return
		}
		if err := run("build", "-ldflags", "-X main.target="+built.Tokenmint, "-o", built.EntryMain, "./entrypoint"); err != nil {
			built.buildError = err
			return
		}
		data, err := os.ReadFile(built.EntryMain)
		if err == nil {
			err = os.WriteFile(built.EntryPost, data, 0o755)
		}
		built.buildError = err
	})
	if built.buildError != nil {
		t.Fatalf("failed to build: %v", built.buildError)
	}
	return built
}

// Job is one step run: its inputs and the files the runner gives it.
type Job struct {
	Dir     string
	Inputs  map[string]string
	Env     map[string]string // extra environment (proxies, SSL_CERT_FILE…)
	Context map[string]string // GITHUB_* overrides
	// Secrets the test knows; every output is scanned for them.
	Secrets []string

	bins Binaries
	// Printed is everything both phases printed, stdout and stderr, in
	// order per stream.
	Printed []string
	State   map[string]string
	Outputs map[string]string
	EnvOut  map[string]string
	Summary string
}

// Phase is the result of one phase.
type Phase struct {
	Stdout, Stderr string
	ExitCode       int
}

// NewJob prepares a job directory with empty file-command files.
func NewJob(t testing.TB, inputs map[string]string) *Job {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"output", "env", "state", "summary"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "workspace"), 0o755); err != nil {
		t.Fatal(err)
	}
	return &Job{Dir: dir, Inputs: inputs, Env: map[string]string{}, Context: map[string]string{}, bins: Build(t)}
}

// environ builds the container's environment for a phase.
func (j *Job) environ(state map[string]string) []string {
	env := map[string]string{
		"HOME":                "/github/home",
		"GITHUB_ACTIONS":      "true",
		"CI":                  "true",
		"GITHUB_REPOSITORY":   "octo-org/octo-repo",
		"GITHUB_RUN_ID":       "4242",
		"GITHUB_RUN_ATTEMPT":  "1",
		"GITHUB_ACTION":       "mint",
		"GITHUB_WORKSPACE":    filepath.Join(j.Dir, "workspace"),
		"GITHUB_OUTPUT":       filepath.Join(j.Dir, "output"),
		"GITHUB_ENV":          filepath.Join(j.Dir, "env"),
		"GITHUB_STATE":        filepath.Join(j.Dir, "state"),
		"GITHUB_STEP_SUMMARY": filepath.Join(j.Dir, "summary"),
		"RUNNER_TEMP":         j.Dir,
	}
	for k, v := range j.Context {
		env[k] = v
	}
	// Every declared input arrives, with action.yml's default when the
	// workflow gave none, named INPUT_ + upper-cased name, dashes kept.
	for _, in := range config.AllInputs() {
		v, ok := j.Inputs[in.Name]
		if !ok {
			v = in.Default
		}
		env["INPUT_"+strings.ToUpper(in.Name)] = v
	}
	for k, v := range state {
		env["STATE_"+k] = v
	}
	for k, v := range j.Env {
		env[k] = v
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

// Main runs the main phase through the entry-point shim.
func (j *Job) Main(t testing.TB) Phase { return j.run(t, j.bins.EntryMain, nil, nil) }

// Post runs the post phase with the state main saved.
func (j *Job) Post(t testing.TB) Phase { return j.run(t, j.bins.EntryPost, j.State, nil) }

// MainUntil starts main and kills it (SIGKILL) once until() is true.
func (j *Job) MainUntil(t testing.TB, until func() bool) Phase {
	return j.run(t, j.bins.EntryMain, nil, until)
}

func (j *Job) run(t testing.TB, bin string, state map[string]string, killWhen func() bool) Phase {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = j.environ(state)
	cmd.Dir = filepath.Join(j.Dir, "workspace")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("failed to start %s: %v", bin, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	if killWhen != nil {
		tick := time.NewTicker(5 * time.Millisecond)
	loop:
		for {
			select {
			case err = <-done:
				break loop
			case <-tick.C:
				if killWhen() {
					_ = cmd.Process.Kill()
					err = <-done
					break loop
				}
			}
		}
		tick.Stop()
	} else {
		err = <-done
	}
	p := Phase{Stdout: stdout.String(), Stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		p.ExitCode = ee.ExitCode()
	default:
		t.Fatalf("failed to run %s: %v", bin, err)
	}
	j.Printed = append(j.Printed, p.Stdout, p.Stderr)
	j.readFiles(t)
	return p
}

func (j *Job) readFiles(t testing.TB) {
	t.Helper()
	var err error
	if j.State, err = ParseFileCommands(filepath.Join(j.Dir, "state")); err != nil {
		t.Fatalf("GITHUB_STATE: %v", err)
	}
	if j.Outputs, err = ParseFileCommands(filepath.Join(j.Dir, "output")); err != nil {
		t.Fatalf("GITHUB_OUTPUT: %v", err)
	}
	if j.EnvOut, err = ParseFileCommands(filepath.Join(j.Dir, "env")); err != nil {
		t.Fatalf("GITHUB_ENV: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(j.Dir, "summary"))
	if err != nil {
		t.Fatal(err)
	}
	j.Summary = string(b)
}

// ParseFileCommands reads a GITHUB_OUTPUT/ENV/STATE file by the runner's
// rules: NAME=VALUE, or NAME<<DELIM, value lines, DELIM alone on a line.
// Later entries override earlier ones.
func ParseFileCommands(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if line == "" {
			continue
		}
		eq := strings.Index(line, "=")
		hd := strings.Index(line, "<<")
		if eq >= 0 && (hd < 0 || eq < hd) {
			name := line[:eq]
			if name == "" {
				return nil, fmt.Errorf("invalid line %q: empty name", line)
			}
			out[name] = line[eq+1:]
			continue
		}
		if hd <= 0 {
			return nil, fmt.Errorf("invalid line %q", line)
		}
		name, delim := line[:hd], line[hd+2:]
		if delim == "" {
			return nil, fmt.Errorf("invalid delimiter for %s", name)
		}
		var lines []string
		found := false
		for sc.Scan() {
			l := strings.TrimSuffix(sc.Text(), "\r")
			if l == delim {
				found = true
				break
			}
			lines = append(lines, l)
		}
		if !found {
			return nil, fmt.Errorf("matching delimiter not found for %s", name)
		}
		out[name] = strings.Join(lines, "\n")
	}
	return out, sc.Err()
}

// Forms returns a secret and the encodings a log could leak it in.
func Forms(secret string) []string {
	forms := []string{secret}
	for _, l := range strings.Split(secret, "\n") {
		if len(strings.TrimSpace(l)) >= 8 && l != secret {
			forms = append(forms, strings.TrimSpace(l))
		}
	}
	forms = append(forms,
		base64.StdEncoding.EncodeToString([]byte(secret)),
		base64.RawURLEncoding.EncodeToString([]byte(secret)),
		url.QueryEscape(secret),
	)
	return forms
}

// Leaks returns every place a secret (in any form) appears in what the
// binary printed, outside ::add-mask:: commands, and in the state and
// summary files. allowState lists secrets that state may hold (github-app).
func (j *Job) Leaks(secrets []string, allowState ...string) []string {
	var leaks []string
	for _, text := range j.Printed {
		for _, line := range strings.Split(text, "\n") {
			if strings.HasPrefix(line, "::add-mask::") {
				continue
			}
			for _, s := range secrets {
				for _, f := range Forms(s) {
					if f != "" && strings.Contains(line, f) {
						leaks = append(leaks, fmt.Sprintf("printed: %.80q", line))
					}
				}
			}
		}
	}
	for _, s := range secrets {
		allowed := false
		for _, a := range allowState {
			allowed = allowed || a == s
		}
		for _, f := range Forms(s) {
			if strings.Contains(j.Summary, f) {
				leaks = append(leaks, "summary holds a secret")
			}
			for k, v := range j.State {
				if !allowed && strings.Contains(v, f) {
					leaks = append(leaks, "state "+k+" holds a secret")
				}
			}
		}
	}
	return leaks
}

// MaskedBeforeUse checks that every secret that appears in an
// ::add-mask:: line does so before any other line of the same stream
// could have carried it (the runner masks only lines after the command).
// It returns the secrets that were never masked.
func (j *Job) Unmasked(secrets []string) []string {
	var missing []string
	all := strings.Join(j.Printed, "\n")
	for _, s := range secrets {
		if !strings.Contains(all, "::add-mask::"+escapeData(s)) {
			missing = append(missing, fmt.Sprintf("%.6s…", s))
		}
	}
	return missing
}

// escapeData is the runner's command escaping of a message.
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// Commands returns the workflow commands printed (the word after "::").
func (j *Job) Commands() []string {
	var out []string
	for _, text := range j.Printed {
		for _, line := range strings.Split(text, "\n") {
			if strings.HasPrefix(line, "::") {
				rest := line[2:]
				end := strings.IndexAny(rest, " :")
				if end < 0 {
					end = len(rest)
				}
				out = append(out, rest[:end])
			}
			if strings.Contains(line, "##[") {
				out = append(out, "##[")
			}
		}
	}
	return out
}
