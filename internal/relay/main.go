package relay

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tokenmint/tokenmint/internal/clihelp"
	"github.com/tokenmint/tokenmint/internal/redact"
)

// Environment variables Main reads. Secrets come only from here.
const (
	EnvAddr            = "TOKENMINT_RELAY_ADDR"
	EnvConfig          = "TOKENMINT_RELAY_CONFIG"
	EnvTolerance       = "TOKENMINT_RELAY_TOLERANCE"
	EnvReplayWindow    = "TOKENMINT_RELAY_REPLAY_WINDOW"
	EnvConcurrency     = "TOKENMINT_RELAY_CONCURRENCY"
	EnvShutdownTimeout = "TOKENMINT_RELAY_SHUTDOWN_TIMEOUT"
	EnvGitHubAPIURL    = "GITHUB_API_URL"
	EnvWebhookSecrets  = "TOKENMINT_WEBHOOK_SECRETS"
	EnvGitHubToken     = "GITHUB_TOKEN"
)

// DefaultShutdownTimeout bounds the drain after SIGTERM.
const DefaultShutdownTimeout = 25 * time.Second

// UsageError is a bad flag, environment variable or config file: the CLI
// exits 2. Name is the flag ("--addr"), variable or config field; the
// value is never repeated.
type UsageError struct {
	Name string
	Rule string
	Err  error
}

func (e *UsageError) Error() string {
	var s string
	switch {
	case e.Name != "" && e.Err != nil:
		s = fmt.Sprintf("%s: %s: %v", e.Name, e.Rule, e.Err)
	case e.Name != "":
		s = fmt.Sprintf("%s: %s", e.Name, e.Rule)
	default:
		s = e.Rule
	}
	// One line: the CLI prints errors on a single line.
	return strings.ReplaceAll(s, "\n", "; ")
}

// usageErrors folds several problems into one *UsageError (or returns the
// only one), so the CLI prints them on one line and errors.As still finds
// each of them.
func usageErrors(errs []error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return &UsageError{Rule: strings.Join(msgs, "; "), Err: errors.Join(errs...)}
}

func (e *UsageError) Unwrap() error { return e.Err }

// Main runs `tokenmint relay` until ctx is cancelled (SIGTERM, SIGINT via
// signal.NotifyContext in the caller), then stops accepting, finishes the
// requests in progress and drains queued dispatches. Logs go to stderr as
// JSON; stdout gets the usage text for --help. Flag problems return a
// *UsageError.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	return run(ctx, args, stdout, stderr, getenv, nil)
}

type options struct {
	addr            string
	config          string
	apiURL          string
	tolerance       time.Duration
	replayWindow    time.Duration
	concurrency     int
	shutdownTimeout time.Duration
}

func parseFlags(args []string, stdout io.Writer, getenv func(string) string) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("tokenmint relay", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	env := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	fs.StringVar(&o.addr, "addr", env(EnvAddr, DefaultAddr), "listen address (env "+EnvAddr+")")
	fs.StringVar(&o.config, "config", env(EnvConfig, ""), "routes file, YAML (env "+EnvConfig+")")
	fs.StringVar(&o.apiURL, "github-api-url", env(EnvGitHubAPIURL, DefaultGitHubAPIURL), "GitHub REST base, GHES: https://HOST/api/v3 (env "+EnvGitHubAPIURL+")")
	durs := []struct {
		p         *time.Duration
		name, env string
		def       time.Duration
		usage     string
	}{
		{&o.tolerance, "tolerance", EnvTolerance, DefaultTolerance, "max clock difference from the webhook timestamp"},
		{&o.replayWindow, "replay-window", EnvReplayWindow, DefaultReplayWindow, "how long a delivery is remembered to refuse replays"},
		{&o.shutdownTimeout, "shutdown-timeout", EnvShutdownTimeout, DefaultShutdownTimeout, "bound on draining dispatches at shutdown"},
	}
	var envErrs []error
	for _, d := range durs {
		def := d.def
		if v := strings.TrimSpace(getenv(d.env)); v != "" {
			p, err := time.ParseDuration(v)
			if err != nil || p <= 0 {
				envErrs = append(envErrs, &UsageError{Name: d.env, Rule: "must be a positive Go duration such as 5m"})
			} else {
				def = p
			}
		}
		fs.DurationVar(d.p, d.name, def, d.usage+" (env "+d.env+")")
	}
	conc := DefaultConcurrency
	if v := strings.TrimSpace(getenv(EnvConcurrency)); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			envErrs = append(envErrs, &UsageError{Name: EnvConcurrency, Rule: fmt.Sprintf("must be a whole number from 1 to %d", MaxConcurrency)})
		} else {
			conc = n
		}
	}
	fs.IntVar(&o.concurrency, "concurrency", conc, fmt.Sprintf("parallel dispatches to GitHub, 1 to %d (env %s)", MaxConcurrency, EnvConcurrency))

	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			clihelp.Write(stdout, clihelp.Page{
				Usage:   "tokenmint relay [flags]",
				Summary: "Receives Tooken webhooks and sends GitHub repository_dispatch events.",
				Notes:   []string{fmt.Sprintf("Secrets come only from the environment: %s (comma or newline separated) and %s.", EnvWebhookSecrets, EnvGitHubToken)},
			}, fs)
			return nil, flag.ErrHelp
		}
		// The flag package's message names the flag; it never holds a
		// secret since no flag takes one.
		return nil, &UsageError{Rule: err.Error()}
	}
	if len(envErrs) > 0 {
		return nil, usageErrors(envErrs)
	}
	var errs []error
	if fs.NArg() > 0 {
		errs = append(errs, &UsageError{Rule: "relay takes no arguments: use flags"})
	}
	if o.config == "" {
		errs = append(errs, &UsageError{Name: "--config", Rule: "required: path to the routes file (or " + EnvConfig + ")"})
	}
	if o.tolerance <= 0 {
		errs = append(errs, &UsageError{Name: "--tolerance", Rule: "must be a positive duration"})
	}
	if o.replayWindow <= 0 {
		errs = append(errs, &UsageError{Name: "--replay-window", Rule: "must be a positive duration"})
	}
	if o.shutdownTimeout <= 0 {
		errs = append(errs, &UsageError{Name: "--shutdown-timeout", Rule: "must be a positive duration"})
	}
	if o.concurrency < 1 || o.concurrency > MaxConcurrency {
		errs = append(errs, &UsageError{Name: "--concurrency", Rule: fmt.Sprintf("must be from 1 to %d", MaxConcurrency)})
	}
	if _, _, err := net.SplitHostPort(o.addr); err != nil {
		errs = append(errs, &UsageError{Name: "--addr", Rule: "must be host:port, such as 127.0.0.1:8080 or :8080"})
	}
	if _, err := ParseGitHubAPIURL(o.apiURL); err != nil {
		var ce *ConfigError
		if errors.As(err, &ce) {
			errs = append(errs, &UsageError{Name: "--github-api-url", Rule: ce.Rule})
		}
	}
	if len(errs) > 0 {
		return nil, usageErrors(errs)
	}
	return o, nil
}

// SplitSecrets splits TOKENMINT_WEBHOOK_SECRETS on commas and newlines,
// trimming spaces and dropping empty items.
func SplitSecrets(v string) []redact.Secret {
	var out []redact.Secret
	for _, s := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' }) {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, redact.Secret(s))
		}
	}
	return out
}

// run is Main with a hook that learns the bound address (tests).
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string, ready func(addr string)) error {
	o, err := parseFlags(args, stdout, getenv)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	secrets := SplitSecrets(getenv(EnvWebhookSecrets))
	token := redact.Secret(strings.TrimSpace(getenv(EnvGitHubToken)))
	var errs []error
	if len(secrets) == 0 {
		errs = append(errs, &UsageError{Name: EnvWebhookSecrets, Rule: "required: the Tooken webhook secret(s), comma or newline separated"})
	}
	if token.Empty() {
		errs = append(errs, &UsageError{Name: EnvGitHubToken, Rule: "required: a token that may create repository_dispatch events in the routed repositories"})
	}
	routes, rerr := LoadRoutesFile(o.config)
	if rerr != nil {
		errs = append(errs, &UsageError{Name: "--config", Rule: "invalid routes file", Err: rerr})
	}
	if len(errs) > 0 {
		return usageErrors(errs)
	}
	logger := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	for i, s := range secrets {
		if len(s.Reveal()) < 16 {
			logger.Warn("webhook secret is short: use at least 32 random characters", "index", i)
		}
	}
	rl, err := New(Config{
		Routes:       routes,
		Secrets:      secrets,
		GitHubToken:  token,
		GitHubAPIURL: o.apiURL,
		Tolerance:    o.tolerance,
		ReplayWindow: o.replayWindow,
		Concurrency:  o.concurrency,
		Logger:       logger,
	})
	if err != nil {
		return fmt.Errorf("failed to start relay: %w", err)
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		_ = rl.Shutdown(context.Background())
		return fmt.Errorf("failed to listen on %s: %w", o.addr, err)
	}
	srv := &http.Server{
		Handler:           rl.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	nRoutes := 0
	for _, ts := range rl.targets {
		nRoutes += len(ts)
	}
	logger.Info("relay listening", "addr", ln.Addr().String(), "github_api_url", o.apiURL,
		"routes", nRoutes, "secrets", len(secrets), "concurrency", o.concurrency,
		"tolerance", o.tolerance.String(), "replay_window", o.replayWindow.String())
	if ready != nil {
		ready(ln.Addr().String())
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	var runErr error
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		if !errors.Is(err, http.ErrServerClosed) {
			runErr = fmt.Errorf("failed to serve: %w", err)
		}
	}
	logger.Info("relay shutting down", "queued", rl.queue.len())
	sctx, cancel := context.WithTimeout(context.Background(), o.shutdownTimeout)
	defer cancel()
	// First stop accepting and let handlers in progress finish queueing,
	// then drain the queue.
	if err := srv.Shutdown(sctx); err != nil {
		runErr = errors.Join(runErr, fmt.Errorf("failed to stop the HTTP server: %w", err))
	}
	if err := rl.Shutdown(sctx); err != nil {
		runErr = errors.Join(runErr, err)
	}
	st := rl.Stats()
	logger.Info("relay stopped", "accepted", st.Accepted, "ignored", st.Ignored, "rejected", st.Rejected,
		"refused", st.Refused, "dispatched", st.Dispatched, "failed", st.Failed, "retries", st.Retries)
	return runErr
}
