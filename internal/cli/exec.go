package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/tokenmint/tokenmint/internal/clihelp"
	"github.com/tokenmint/tokenmint/internal/config"
	"github.com/tokenmint/tokenmint/internal/execrun"
	"github.com/tokenmint/tokenmint/internal/inputerr"
	"github.com/tokenmint/tokenmint/internal/ledger"
	"github.com/tokenmint/tokenmint/internal/provider"
	"github.com/tokenmint/tokenmint/internal/redact"
)

// `tokenmint exec` gives one COMMAND its tokens and takes them back.
//
// Invariants:
//   - Every token is minted before COMMAND starts; if one mint fails, the
//     tokens already minted are revoked and COMMAND never runs.
//   - Every token exec minted is revoked after COMMAND ended, however it
//     ended (exit, signal, not startable), within --revoke-timeout; exec
//     never revokes a token it did not mint. A token whose revocation
//     failed is named on stderr with its expiry.
//   - COMMAND never receives an admin credential: TOKENMINT_ADMIN_KEY,
//     TOKENMINT_PROVIDER_SECRETS and
//     the admin-key-env variables of --config are removed from its
//     environment.
//   - Unless --no-conceal, COMMAND's stdout and stderr pass through a
//     redact.Stream that knows every form of every token and admin key.
//   - The exit status is COMMAND's (128+n for signal n); 126/127 when it
//     could not start; 1 when a revocation failed and --revoke-failure is
//     fail and COMMAND succeeded.

// execToken is one token of an exec run.
type execToken struct {
	label     string // "token 1 (tooken)", for messages
	cfg       *config.Config
	p         provider.Provider
	exportEnv string // variable receiving the token
	fileVar   string // variable receiving the token file's path
	tok       *provider.Token
	ledger    *ledger.Ledger // the names this token's mint sent
}

// ExitCodeError makes Run exit with Code; Err, when set, is printed.
type ExitCodeError struct {
	Code int
	Err  error
}

func (e *ExitCodeError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitCodeError) Unwrap() error { return e.Err }

// DefaultRevokeTimeout bounds exec's revocations after COMMAND ended.
const DefaultRevokeTimeout = 30 * time.Second

const execSummary = "Mint a token (or every token of --config), run COMMAND with it in the --export-env variable and/or a --token-file, conceal every form of the tokens and the admin key in COMMAND's stdout and stderr, forward SIGINT, SIGTERM and SIGHUP to COMMAND, and revoke the tokens when COMMAND ends, also after a signal. The exit status is COMMAND's (128+n when signal n ended it)."

var execNotes = []string{
	"If tokenmint itself is killed with SIGKILL (or the machine dies), nothing revokes the tokens: they stay valid until their --ttl runs out. Keep the ttl as short as the command needs.",
	"Example:\n  TOKENMINT_ADMIN_KEY=... tokenmint exec --provider tooken --scopes tokens:read --ttl 15m --export-env API_TOKEN -- ./deploy.sh",
	noteSecrets,
}

func (c *cmd) exec(ctx context.Context, args []string) error {
	single := append(append([]string{}, providerFlags...), mintFlags...)
	inputs := append(append([]string{}, single...), "export-env", "revoke-failure")
	f := c.newFlags(clihelp.Page{
		Usage: "tokenmint exec [flags] -- COMMAND [ARGS...]", Summary: execSummary, Notes: execNotes,
		Defaults: map[string]string{"revoke-timeout": DefaultRevokeTimeout.String()},
	}, inputs, nil, map[string]string{
		"export-env":     "Name of the environment variable COMMAND receives the token in.",
		"revoke-failure": "warn or fail: fail makes a failed revocation exit 1 when COMMAND succeeded.",
	})
	tokenFile := f.fs.String("token-file", "", "Also write the token to a 0600 file in a private temporary directory, removed when COMMAND ends, and give COMMAND its path in this environment `var`.")
	configFile := f.fs.String("config", "", "YAML `file` listing several tokens (provider, admin-key-env, scopes, ttl, export-env and/or token-file per token); see docs/exec.md.")
	noConceal := f.fs.Bool("no-conceal", false, "Give COMMAND this terminal's stdout and stderr as they are (for commands that need a raw TTY); nothing is concealed.")
	revokeTimeout := f.fs.Duration("revoke-timeout", DefaultRevokeTimeout, "Bound on revoking the tokens after COMMAND ended.")
	for _, n := range []string{"token-file", "config", "no-conceal", "revoke-timeout"} {
		f.page.Env[n] = envName(n)
	}
	if err := f.parse(args); err != nil {
		return err
	}
	command := f.fs.Args()
	if len(command) == 0 {
		return usagef("exec needs a COMMAND: tokenmint exec [flags] -- COMMAND [ARGS...]")
	}
	opt := func(name string, p *string) string {
		if len(f.given(name)) == 0 {
			return strings.TrimSpace(c.env.Getenv(envName(name)))
		}
		return *p
	}
	conceal := !*noConceal
	if len(f.given("no-conceal")) == 0 {
		if v := c.env.Getenv(envName("no-conceal")); v != "" {
			b, err := config.ParseBool(v)
			if err != nil {
				return usagef("%s must be true or false", envName("no-conceal"))
			}
			conceal = !b
		}
	}
	if v := c.env.Getenv(envName("revoke-timeout")); v != "" && len(f.given("revoke-timeout")) == 0 {
		d, err := time.ParseDuration(v)
		if err != nil {
			return usagef("%s must be a Go duration such as 30s", envName("revoke-timeout"))
		}
		*revokeTimeout = d
	}
	if *revokeTimeout <= 0 {
		return usagef("--revoke-timeout must be more than 0")
	}

	// Catch the signals from now on: a SIGHUP while minting must not kill
	// tokenmint before it can revoke.
	sigs := c.env.Signals
	if sigs == nil {
		ch := make(chan os.Signal, 4)
		signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
		defer signal.Stop(ch)
		sigs = ch
	}
	// SIGPIPE is caught and never forwarded: concealed output is written by
	// tokenmint itself, and `tokenmint exec … | head -1` must not kill it
	// before it revokes (Go dies of a broken stdout or stderr otherwise).
	// Caught, not ignored, so COMMAND does not inherit an ignored SIGPIPE.
	pipe := make(chan os.Signal, 1)
	signal.Notify(pipe, syscall.SIGPIPE)
	defer signal.Stop(pipe)

	var toks []*execToken
	var revokeFailure string
	strip := []string{"TOKENMINT_ADMIN_KEY", "TOKENMINT_PROVIDER_SECRETS"}
	if cf := opt("config", configFile); cf != "" {
		if given := f.given(append(single, "export-env", "token-file", "admin-key-file")...); len(given) > 0 {
			return usagef("--config lists every token: remove %s (set them per token in the file)", strings.Join(given, ", "))
		}
		var adminEnvs []string
		var err error
		toks, adminEnvs, err = c.loadExecConfig(cf)
		if err != nil {
			return err
		}
		strip = append(strip, adminEnvs...)
		revokeFailure = strings.ToLower(f.values()["revoke-failure"])
		if revokeFailure == "" {
			revokeFailure = "warn"
		}
		if revokeFailure != "warn" && revokeFailure != "fail" {
			return usagef("--revoke-failure must be warn or fail")
		}
	} else {
		cfg, p, err := c.load(f, false)
		if err != nil {
			return err
		}
		t := &execToken{label: cfg.Provider + " token", cfg: cfg, p: p, exportEnv: cfg.ExportEnv, fileVar: opt("token-file", tokenFile)}
		if err := checkExecTargets([]*execToken{t}); err != nil {
			return err
		}
		toks = []*execToken{t}
		revokeFailure = cfg.RevokeFailure
	}

	// Mint every token; a signal stops the minting.
	mctx, cancel := context.WithCancel(ctx)
	got := make(chan os.Signal, 1)
	watching := make(chan struct{})
	go func() {
		defer close(watching)
		select {
		case s := <-sigs:
			got <- s
			cancel()
		case <-mctx.Done():
		}
	}()
	var mintErr error
	for _, t := range toks {
		t.tok, t.ledger, mintErr = c.mintToken(mctx, t.cfg, t.p)
		if mintErr != nil {
			mintErr = fmt.Errorf("%s: %w", t.label, mintErr)
			break
		}
	}
	cancel()
	<-watching
	var early os.Signal
	select {
	case early = <-got:
	default:
	}
	if mintErr != nil || early != nil {
		failed := c.revokeAll(ctx, toks, *revokeTimeout)
		if early != nil {
			code := 130
			if s, ok := early.(syscall.Signal); ok {
				code = 128 + int(s)
			}
			return &ExitCodeError{Code: code, Err: fmt.Errorf("failed to run the command: %s while minting; nothing was run%s", early, revokedNote(failed))}
		}
		return fmt.Errorf("failed to run the command: %w; nothing was run%s", mintErr, revokedNote(failed))
	}

	// COMMAND's environment and token files.
	env, dir, err := c.execEnv(toks, strip)
	if dir != "" {
		defer os.RemoveAll(dir)
	}
	if err != nil {
		failed := c.revokeAll(ctx, toks, *revokeTimeout)
		return fmt.Errorf("failed to run the command: %w%s", err, revokedNote(failed))
	}

	stdout, stderr := c.env.Stdout, c.env.Stderr
	var streams []*redact.Stream
	if conceal {
		m := redact.NewMasker()
		for _, v := range c.masker.Values() {
			m.AddExact(v)
		}
		for _, t := range toks {
			for _, s := range []string{t.cfg.AdminKey.Reveal(), t.tok.Secret.Reveal()} {
				m.Add(s)
				m.AddExact(redact.EmbeddedBase64(s)...)
			}
		}
		so, se := redact.NewStream(stdout, m), redact.NewStream(stderr, m)
		streams = []*redact.Stream{so, se}
		stdout, stderr = so, se
	}
	res, runErr := execrun.Run(execrun.Spec{
		Args: command, Env: env, Stdin: c.env.Stdin, Stdout: stdout, Stderr: stderr,
		Signals: sigs, NewGroup: !c.isTerminal(c.env.Stdin),
	})
	for _, s := range streams {
		_ = s.Close()
	}
	if dir != "" {
		_ = os.RemoveAll(dir)
	}
	failed := c.revokeAll(ctx, toks, *revokeTimeout)

	var se *execrun.StartError
	if errors.As(runErr, &se) {
		return &ExitCodeError{Code: se.Code(), Err: fmt.Errorf("failed to run the command: %w", se)}
	}
	if runErr != nil {
		fmt.Fprintf(c.stderr, "tokenmint: warning: %s\n", oneLine(runErr))
	}
	if len(failed) > 0 && revokeFailure == "fail" && res.Code == 0 {
		return &ExitCodeError{Code: ExitFail, Err: fmt.Errorf("failed to revoke %s (--revoke-failure fail)", strings.Join(failed, ", "))}
	}
	if res.Code != 0 {
		return &ExitCodeError{Code: res.Code}
	}
	return nil
}

func revokedNote(failed []string) string {
	if len(failed) == 0 {
		return ""
	}
	return "; still live: " + strings.Join(failed, ", ")
}

// revokeAll revokes every token exec minted, within timeout, even when
// ctx was cancelled by a signal, then sweeps the names of lost attempts
// (ledger.Sweep: only exact names this call sent, never another token).
// It returns the tokens it could not revoke or confirm gone, and warns
// about each on stderr, by ID or name.
func (c *cmd) revokeAll(ctx context.Context, toks []*execToken, timeout time.Duration) []string {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	var failed []string
	for _, t := range toks {
		if t.tok != nil {
			if err := t.p.Revoke(rctx, *t.tok); err != nil {
				id := describeToken(t.tok)
				exp := "its ttl runs out"
				if !t.tok.ExpiresAt.IsZero() {
					exp = t.tok.ExpiresAt.UTC().Format(time.RFC3339)
				}
				fmt.Fprintf(c.stderr, "tokenmint: warning: failed to revoke the %s %s: %s; it stays valid until %s: revoke it with 'tokenmint revoke %s'\n",
					t.label, id, oneLine(err), exp, redact.Neutralize(t.tok.ID))
				failed = append(failed, id)
			}
		}
		if t.ledger == nil || len(t.ledger.Pending()) == 0 {
			continue
		}
		// A create whose answer was lost may have committed since.
		res := t.ledger.Sweep(rctx, t.p, t.cfg.Provider, t.cfg.Spec.ListScope)
		for _, r := range res.Revoked {
			c.logf("revoked token %s named %q, created by a lost attempt of this call", r.ID, r.Name)
		}
		if res.Problem != nil {
			c.warnf("%s: %v", t.label, res.Problem)
			failed = append(failed, res.Problem.Names...)
		}
	}
	return failed
}

func describeToken(t *provider.Token) string {
	s := redact.Neutralize(t.ID)
	if t.Name != "" {
		s += " (" + redact.Neutralize(t.Name) + ")"
	}
	return s
}

// checkExecTargets checks that every token goes somewhere and that no two
// share a variable.
func checkExecTargets(toks []*execToken) error {
	seen := map[string]string{}
	var errs []error
	for _, t := range toks {
		if t.exportEnv == "" && t.fileVar == "" {
			errs = append(errs, fmt.Errorf("%s: set --export-env and/or --token-file: the variable COMMAND finds the token (or its file) in", t.label))
		}
		for _, v := range []string{t.exportEnv, t.fileVar} {
			if v == "" {
				continue
			}
			if err := config.CheckEnvName(v); err != nil {
				errs = append(errs, fmt.Errorf("%s: variable %s %w", t.label, v, err))
				continue
			}
			if other, dup := seen[v]; dup {
				errs = append(errs, fmt.Errorf("%s: variable %s is already used by the %s", t.label, v, other))
			}
			seen[v] = t.label
		}
	}
	if len(errs) > 0 {
		return &UsageError{Err: errors.Join(errs...)}
	}
	return nil
}

// execEnv builds COMMAND's environment: this process's, without the admin
// credentials, with each token and token file path. Token files go in one
// private directory (0700) as 0600 files; the caller removes dir.
func (c *cmd) execEnv(toks []*execToken, strip []string) (env []string, dir string, err error) {
	environ := os.Environ
	if c.env.Environ != nil {
		environ = c.env.Environ
	}
	set := map[string]bool{}
	for _, t := range toks {
		set[t.exportEnv], set[t.fileVar] = true, true
	}
	for _, kv := range environ() {
		k, _, _ := strings.Cut(kv, "=")
		if slices.Contains(strip, k) || set[k] {
			continue
		}
		env = append(env, kv)
	}
	for i, t := range toks {
		if t.exportEnv != "" {
			env = append(env, t.exportEnv+"="+t.tok.Secret.Reveal())
		}
		if t.fileVar == "" {
			continue
		}
		if dir == "" {
			if dir, err = os.MkdirTemp("", "tokenmint-exec-"); err != nil {
				return nil, "", fmt.Errorf("failed to create the token directory: %w", err)
			}
		}
		p := filepath.Join(dir, fmt.Sprintf("token-%d", i+1))
		if err := os.WriteFile(p, []byte(t.tok.Secret.Reveal()), 0o600); err != nil {
			return nil, dir, fmt.Errorf("failed to write the token file: %w", err)
		}
		env = append(env, t.fileVar+"="+p)
	}
	return env, dir, nil
}

func (c *cmd) isTerminal(r io.Reader) bool {
	if c.env.Terminal != nil {
		if w, ok := r.(io.Writer); ok {
			return c.env.Terminal(w)
		}
		return false
	}
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// labelInputErrors prefixes each input error of err with label and names
// the field as the config file spells it.
func labelInputErrors(label string, err error) error {
	ies, rest := inputerr.List(err)
	var errs []error
	for _, ie := range ies {
		errs = append(errs, fmt.Errorf("%s: %s: %s", label, ie.Input, ie.Rule))
	}
	for _, r := range rest {
		errs = append(errs, fmt.Errorf("%s: %w", label, r))
	}
	return errors.Join(errs...)
}
