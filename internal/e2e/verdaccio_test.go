package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tokenmint/tokenmint/internal/ledger"
	"github.com/tokenmint/tokenmint/internal/provider/rest/verdacciotest"
)

// The shipped Verdaccio profile against a real Verdaccio 6.10.4
// (.ci/services/verdaccio.sh): the CLI, the action's main and post phases,
// and lost creates. Each test has its own account; the server's own view
// (its token list, /-/whoami) decides what is live.

// phaseSecrets checks one phase's output on its own: every form of each
// secret the phase knows from its inputs is announced with ::add-mask::
// before any other line (Phase.Unannounced), and no other line carries any
// form of it.
func phaseSecrets(t *testing.T, phase string, p Phase, secrets map[string]string) {
	t.Helper()
	for _, what := range sortedKeys(secrets) {
		s := secrets[what]
		if missing := p.Unannounced(Forms(s)); len(missing) > 0 {
			t.Errorf("%s: forms of the %s not announced before the phase's first other line: %v", phase, what, missing)
		}
		for _, leak := range findLeaks(phase+" stderr", p.Stderr, []string{s}) {
			t.Errorf("%s: the %s leaked: %s", phase, what, leak)
		}
		for i, l := range strings.Split(p.Stdout, "\n") {
			if strings.HasPrefix(l, "::add-mask::") {
				continue
			}
			for _, leak := range findLeaks(phase+" stdout line "+strconv.Itoa(i+1), l, []string{s}) {
				t.Errorf("%s: the %s leaked: %s", phase, what, leak)
			}
		}
	}
}

// warningsOf returns the ::warning:: lines of a phase.
func warningsOf(p Phase) []string {
	var out []string
	for _, l := range strings.Split(p.Stdout, "\n") {
		if strings.HasPrefix(l, "::warning") {
			out = append(out, l)
		}
	}
	return out
}

func verdaccioJob(t *testing.T, u *verdacciotest.User, apiURL string, extra map[string]string) *Job {
	t.Helper()
	j := NewJob(t, map[string]string{
		"provider":         "rest",
		"provider-config":  ".github/tokenmint/verdaccio.yaml",
		"admin-key":        u.Token,
		"provider-secrets": "password=" + u.Password,
		"api-url":          apiURL,
		"scopes":           "read",
		"ttl":              "",
	})
	for k, v := range extra {
		j.Inputs[k] = v
	}
	j.Secrets = []string{u.Token, u.Password}
	data, err := os.ReadFile(verdacciotest.Profile(t))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(j.Dir, "workspace", ".github", "tokenmint")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "verdaccio.yaml"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return j
}

func TestVerdaccio_ActionMainPost(t *testing.T) {
	t.Parallel()
	u := verdacciotest.NewUser(t)
	j := verdaccioJob(t, u, u.URL, nil)
	main := j.Main(t)
	if main.ExitCode != 0 {
		t.Fatalf("main exit %d:\n%s\n%s", main.ExitCode, main.Stdout, main.Stderr)
	}
	tok, id := j.Outputs["token"], j.Outputs["token-id"]
	got := u.Tokens(t)
	if len(got) != 1 || got[0].Key != id || !got[0].Readonly {
		t.Fatalf("server lists %+v, want the one read-only token %s", got, id)
	}
	if status, who := u.Whoami(t, tok); status != 200 || who != u.Name {
		t.Fatalf("whoami = %d %q, want 200 %q", status, who, u.Name)
	}
	if want := verdacciotest.JWTExpiry(tok).Format(time.RFC3339); j.Outputs["expires-at"] != want {
		t.Errorf("expires-at = %q, want the token's own exp %q", j.Outputs["expires-at"], want)
	}
	phaseSecrets(t, "main", main, map[string]string{"admin key": u.Token, "password": u.Password, "password line": "password=" + u.Password})
	if missing := main.Unmasked(Forms(tok)); len(missing) > 0 {
		t.Errorf("main: token forms never masked: %v", missing)
	}
	// State: the compiled profile (post never rereads the workspace), no secret.
	if pc := j.State["provider-config"]; !strings.HasPrefix(pc, "{") || !strings.Contains(pc, `"name_field":"none"`) {
		t.Errorf("state provider-config = %q, want the compiled profile", pc)
	}
	if leaks := j.Leaks([]string{tok}); len(leaks) > 0 {
		t.Errorf("secrets leaked after main: %v", leaks)
	}
	// A later step removes the profile: post must not need it.
	if err := os.RemoveAll(filepath.Join(j.Dir, "workspace", ".github")); err != nil {
		t.Fatal(err)
	}
	post := j.Post(t)
	if post.ExitCode != 0 {
		t.Fatalf("post exit %d:\n%s\n%s", post.ExitCode, post.Stdout, post.Stderr)
	}
	if w := warningsOf(post); len(w) > 0 {
		t.Errorf("post warned: %q", w)
	}
	if status, _ := u.Whoami(t, tok); status != 403 {
		t.Errorf("whoami after post = %d, want 403 (refused)", status)
	}
	if keys := u.Keys(t); len(keys) != 0 {
		t.Errorf("server still lists %v after post", keys)
	}
	phaseSecrets(t, "post", post, map[string]string{"admin key": u.Token, "password": u.Password})
	if leaks := j.Leaks([]string{tok}); len(leaks) > 0 {
		t.Errorf("secrets leaked: %v", leaks)
	}
}

func TestVerdaccio_ActionInputErrors(t *testing.T) {
	t.Parallel()
	u := verdacciotest.NewUser(t)
	cases := []struct {
		name  string
		extra map[string]string
		want  string
	}{
		{name: "ttl_given", extra: map[string]string{"ttl": "2h"}, want: `::error::input "ttl": is not sent: the Verdaccio service gives every token a lifetime of its own`},
		{name: "no_password", extra: map[string]string{"provider-secrets": ""}, want: `::error::input "provider-secrets": must give password=… : the profile declares the secret "password"`},
		{name: "bad_line", extra: map[string]string{"provider-secrets": "password " + u.Password}, want: `::error::input "provider-secrets": line 1 must be NAME=value`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			j := verdaccioJob(t, u, u.URL, tc.extra)
			main := j.Main(t)
			if main.ExitCode == 0 || !strings.Contains(main.Stdout, tc.want) {
				t.Errorf("main exit %d, want an error %q:\n%s", main.ExitCode, tc.want, main.Stdout)
			}
			if leaks := j.Leaks(nil); len(leaks) > 0 {
				t.Errorf("secrets leaked: %v", leaks)
			}
		})
	}
	if keys := u.Keys(t); len(keys) != 0 {
		t.Errorf("server lists %v: a bad input sent a create", keys)
	}
}

// TestVerdaccio_ProfileAnnotation: a profile error with a known line is a
// file annotation, and its text names no Go type.
func TestVerdaccio_ProfileAnnotation(t *testing.T) {
	t.Parallel()
	u := verdacciotest.NewUser(t)
	j := verdaccioJob(t, u, u.URL, nil)
	path := filepath.Join(j.Dir, "workspace", ".github", "tokenmint", "verdaccio.yaml")
	data, _ := os.ReadFile(path)
	bad := strings.Replace(string(data), "  expiry: fixed\n", "  expiry: fixed\n  fields: {}\n", 1)
	if bad == string(data) {
		t.Fatal("profile has no expiry: fixed line")
	}
	if err := os.WriteFile(path, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	line := 1 + strings.Count(bad[:strings.Index(bad, "  fields:")], "\n")
	main := j.Main(t)
	want := "::error file=.github/tokenmint/verdaccio.yaml,line=" + strconv.Itoa(line) + `::input "provider-config": line ` + strconv.Itoa(line) + `: unknown field "fields"`
	if main.ExitCode == 0 || !strings.Contains(main.Stdout, want) {
		t.Errorf("main exit %d, want %q in:\n%s", main.ExitCode, want, main.Stdout)
	}
	if strings.Contains(main.Stdout, "struct") || strings.Contains(main.Stdout, "rest.") {
		t.Errorf("the error shows Go types:\n%s", main.Stdout)
	}
}

// TestVerdaccio_LostCreate: a resetting proxy forwards the first create to
// the server and answers it with a TCP reset. Verdaccio keeps no token
// name, so the lost token cannot be attributed: it must not be revoked by
// guess, and both phases must warn naming it (its ledger name, and its key
// as a candidate from the server's list).
func TestVerdaccio_LostCreate(t *testing.T) {
	t.Parallel()
	u := verdacciotest.NewUser(t)
	proxy := verdacciotest.NewProxy(t, u)
	proxy.ResetCreates(1)
	j := verdaccioJob(t, u, proxy.URL, nil)
	main := j.Main(t)
	if main.ExitCode != 0 {
		t.Fatalf("main exit %d:\n%s\n%s", main.ExitCode, main.Stdout, main.Stderr)
	}
	id := j.Outputs["token-id"]
	var lost []string
	for _, k := range u.Keys(t) {
		if k != id {
			lost = append(lost, k)
		}
	}
	if len(lost) != 1 {
		t.Fatalf("server lists %v besides %s, want the one lost token", lost, id)
	}
	l, err := ledger.Decode(j.State["ledger"])
	if err != nil {
		t.Fatal(err)
	}
	names := l.Names()
	if len(names) != 2 {
		t.Fatalf("ledger names = %v, want the lost one and the minted one", names)
	}
	wantIn := func(phase string, p Phase, needles ...string) {
		t.Helper()
		for _, n := range needles {
			if !slices.ContainsFunc(warningsOf(p), func(w string) bool { return strings.Contains(w, n) }) {
				t.Errorf("%s: no ::warning:: names %q:\n%s", phase, n, strings.Join(warningsOf(p), "\n"))
			}
		}
	}
	t.Logf("main warned:\n%s", strings.Join(warningsOf(main), "\n"))
	wantIn("main", main, names[0], lost[0])
	phaseSecrets(t, "main", main, map[string]string{"admin key": u.Token, "password": u.Password})

	post := j.Post(t)
	if post.ExitCode != 0 {
		t.Fatalf("post exit %d:\n%s", post.ExitCode, post.Stdout)
	}
	t.Logf("post warned:\n%s", strings.Join(warningsOf(post), "\n"))
	wantIn("post", post, names[0])
	phaseSecrets(t, "post", post, map[string]string{"admin key": u.Token, "password": u.Password})
	// The server's view: the minted token is gone, the lost one (which no
	// name attributes to this step) was left alone, and was named.
	if keys := u.Keys(t); !slices.Equal(keys, lost) {
		t.Errorf("server lists %v after post, want only the lost %v", keys, lost)
	}
	if leaks := j.Leaks(nil); len(leaks) > 0 {
		t.Errorf("secrets leaked: %v", leaks)
	}
}

// TestVerdaccio_KilledMain: main is SIGKILLed while the server holds the
// create's answer. Post has only the ledger's pending name: it cannot look
// it up and must say so with a warning naming it, not "revoked 0".
func TestVerdaccio_KilledMain(t *testing.T) {
	t.Parallel()
	u := verdacciotest.NewUser(t)
	proxy := verdacciotest.NewProxy(t, u)
	proxy.HoldCreates(time.Minute)
	j := verdaccioJob(t, u, proxy.URL, nil)
	main := j.MainUntil(t, func() bool { return len(proxy.Store.All()) > 0 })
	if main.ExitCode == 0 {
		t.Fatalf("main was not killed:\n%s", main.Stdout)
	}
	l, err := ledger.Decode(j.State["ledger"])
	if err != nil {
		t.Fatal(err)
	}
	pending := l.Pending()
	if len(pending) != 1 {
		t.Fatalf("pending names = %v, want the one sent", pending)
	}
	post := j.Post(t)
	if post.ExitCode != 0 {
		t.Fatalf("post exit %d:\n%s", post.ExitCode, post.Stdout)
	}
	if !slices.ContainsFunc(warningsOf(post), func(w string) bool { return strings.Contains(w, pending[0]) }) {
		t.Errorf("post: no ::warning:: names %q:\n%s", pending[0], post.Stdout)
	}
	if strings.Contains(post.Stdout, "Revoked 0") {
		t.Errorf("post claims a clean-up:\n%s", post.Stdout)
	}
	phaseSecrets(t, "post", post, map[string]string{"admin key": u.Token, "password": u.Password})
	if n := len(u.Keys(t)); n != 1 {
		t.Errorf("server lists %d tokens, want the 1 unattributable one left alone", n)
	}
}

// TestVerdaccio_CLI: mint → the token works → revoke → refused, with the
// password from the environment or a file, never printed.
func TestVerdaccio_CLI(t *testing.T) {
	t.Parallel()
	bins := Build(t)
	cases := []struct {
		name string
		via  func(t *testing.T, u *verdacciotest.User, env []string, args []string) ([]string, []string)
	}{
		{name: "env", via: func(t *testing.T, u *verdacciotest.User, env, args []string) ([]string, []string) {
			return append(env, "TOKENMINT_PROVIDER_SECRETS=password="+u.Password), args
		}},
		{name: "file", via: func(t *testing.T, u *verdacciotest.User, env, args []string) ([]string, []string) {
			f := filepath.Join(t.TempDir(), "secrets")
			if err := os.WriteFile(f, []byte("password="+u.Password+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			// Flags go before the command's operands (revoke ID…).
			return env, append([]string{args[0], "--provider-secrets-file", f}, args[1:]...)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			u := verdacciotest.NewUser(t)
			home := t.TempDir()
			base := []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "TOKENMINT_ADMIN_KEY=" + u.Token}
			common := []string{"--provider", "rest", "--provider-config", verdacciotest.Profile(t), "--api-url", u.URL}
			cli := func(command string, args ...string) (int, string, string) {
				t.Helper()
				env, args := tc.via(t, u, slices.Clone(base), append(append([]string{command}, common...), args...))
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				cmd := exec.CommandContext(ctx, bins.Tokenmint, args...)
				cmd.Env = env
				var out, errb bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &errb
				err := cmd.Run()
				code := 0
				var ee *exec.ExitError
				if errors.As(err, &ee) {
					code = ee.ExitCode()
				} else if err != nil {
					t.Fatal(err)
				}
				for _, s := range []string{u.Password, u.Token} {
					if leaks := findLeaks("cli "+args[0], out.String()+errb.String(), []string{s}); len(leaks) > 0 {
						t.Errorf("leaked: %v", leaks)
					}
				}
				return code, out.String(), errb.String()
			}
			code, out, errs := cli("mint", "--scopes", "read", "--output", "json")
			if code != 0 {
				t.Fatalf("mint exit %d: %s", code, errs)
			}
			var v struct {
				ID, Token string
				ExpiresAt string `json:"expires_at"`
			}
			if err := json.Unmarshal([]byte(out), &v); err != nil {
				t.Fatalf("mint output: %v", err)
			}
			if got := u.Tokens(t); len(got) != 1 || got[0].Key != v.ID || !got[0].Readonly {
				t.Fatalf("server lists %+v, want the one read-only token %s", got, v.ID)
			}
			if status, who := u.Whoami(t, v.Token); status != 200 || who != u.Name {
				t.Fatalf("whoami = %d %q", status, who)
			}
			if strings.Contains(errs, "post-step") {
				t.Errorf("the CLI speaks of a post step: %s", errs)
			}
			if code, _, errs := cli("revoke", v.ID); code != 0 {
				t.Fatalf("revoke exit %d: %s", code, errs)
			}
			if status, _ := u.Whoami(t, v.Token); status != 403 {
				t.Errorf("whoami after revoke = %d, want 403", status)
			}
			if keys := u.Keys(t); len(keys) != 0 {
				t.Errorf("server still lists %v", keys)
			}
			// A ttl the profile cannot send is an input error, before any request.
			if code, _, errs := cli("mint", "--scopes", "read", "--ttl", "2h"); code == 0 || !strings.Contains(errs, "--ttl: is not sent") {
				t.Errorf("mint --ttl 2h exit %d: %s", code, errs)
			}
			if keys := u.Keys(t); len(keys) != 0 {
				t.Errorf("server lists %v after a refused input", keys)
			}
		})
	}
}
