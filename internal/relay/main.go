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
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

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
	EnvDispatchTimeout = "TOKENMINT_RELAY_DISPATCH_TIMEOUT"
	EnvMaxConnections  = "TOKENMINT_RELAY_MAX_CONNECTIONS"
	EnvRedisURL        = "TOKENMINT_REDIS_URL"
	EnvRedisPrefix     = "TOKENMINT_REDIS_PREFIX"
	EnvGitHubAPIURL    = "GITHUB_API_URL"
	EnvWebhookSecrets  = "TOKENMINT_WEBHOOK_SECRETS"
	EnvGitHubToken     = "GITHUB_TOKEN"
)

// DefaultShutdownTimeout bounds the wait for webhooks in progress after
// SIGTERM.
const DefaultShutdownTimeout = 25 * time.Second

// DefaultMemoryLimit is the Go runtime's soft memory limit when GOMEMLIMIT
// is not set: the garbage collector works harder near it, so a flood's
// garbage is returned quickly.
const DefaultMemoryLimit = 128 << 20

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
// webhooks in progress (each is dispatched before it is answered). Logs go to stderr as
// JSON; stdout gets the usage text for --help. Flag problems return a
// *UsageError.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	setMemoryLimit(getenv)
	// go-redis' own messages (reconnects, pool trouble) join the JSON log.
	// Process-wide, so here and not in run (tests run several relays).
	redis.SetLogger(redisLogger{slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	return run(ctx, args, stdout, stderr, getenv, nil)
}

func setMemoryLimit(getenv func(string) string) {
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(DefaultMemoryLimit)
	}
}

// runHooks lets tests learn the bound address and stop the relay at a
// point of its work.
type runHooks struct {
	ready func(addr string)
	hook  func(point string)
}

type options struct {
	addr            string
	config          string
	apiURL          string
	tolerance       time.Duration
	replayWindow    time.Duration
	concurrency     int
	shutdownTimeout time.Duration
	dispatchTimeout time.Duration
	maxConnections  int
	redisURL        string
	redisURLFrom    string // the flag or variable it came from, for errors
	redisPrefix     string
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
		{&o.shutdownTimeout, "shutdown-timeout", EnvShutdownTimeout, DefaultShutdownTimeout, "bound on finishing the webhooks in progress at shutdown"},
		{&o.dispatchTimeout, "dispatch-timeout", EnvDispatchTimeout, DefaultDispatchTimeout, "bound on a webhook's dispatches, retries included, before it is answered 503"},
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
	fs.IntVar(&o.concurrency, "concurrency", conc, fmt.Sprintf("concurrent requests to GitHub, 1 to %d (env %s)", MaxConcurrency, EnvConcurrency))
	maxConns := DefaultMaxConnections
	if v := strings.TrimSpace(getenv(EnvMaxConnections)); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			envErrs = append(envErrs, &UsageError{Name: EnvMaxConnections, Rule: "must be a whole number from 16 to 65536"})
		} else {
			maxConns = n
		}
	}
	fs.IntVar(&o.maxConnections, "max-connections", maxConns, "concurrent client connections, 16 to 65536 (env "+EnvMaxConnections+")")
	// The URL may hold a password: the flag's default is never the
	// variable's value (it would be printed by --help).
	fs.StringVar(&o.redisURL, "redis-url", "", "Redis shared by the replicas, redis://HOST:PORT[/DB] or rediss://; a password only through the environment (env "+EnvRedisURL+"; default: in memory, one replica)")
	fs.StringVar(&o.redisPrefix, "redis-prefix", env(EnvRedisPrefix, DefaultRedisPrefix), "prefix of the relay's Redis keys (env "+EnvRedisPrefix+")")

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
	o.redisURLFrom = "--redis-url"
	if o.redisURL == "" {
		o.redisURL, o.redisURLFrom = strings.TrimSpace(getenv(EnvRedisURL)), EnvRedisURL
	} else if redisHasPassword(o.redisURL) {
		errs = append(errs, &UsageError{Name: "--redis-url", Rule: "must not hold credentials (a flag is visible to every user of the machine): put the URL in " + EnvRedisURL})
	}
	if o.redisURL != "" {
		if _, err := ParseRedisURL(o.redisURL); err != nil {
			errs = append(errs, &UsageError{Name: o.redisURLFrom, Rule: err.Error()})
		}
	}
	if o.redisPrefix == "" {
		errs = append(errs, &UsageError{Name: "--redis-prefix", Rule: "must not be empty"})
	}
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
	if o.dispatchTimeout <= 0 {
		errs = append(errs, &UsageError{Name: "--dispatch-timeout", Rule: "must be a positive duration"})
	}
	if o.maxConnections < 16 || o.maxConnections > 65536 {
		errs = append(errs, &UsageError{Name: "--max-connections", Rule: "must be from 16 to 65536"})
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

// run is Main with test hooks.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string, hooks *runHooks) error {
	if hooks == nil {
		hooks = &runHooks{}
	}
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
	cfg := Config{
		Routes:          routes,
		Secrets:         secrets,
		GitHubToken:     token,
		GitHubAPIURL:    o.apiURL,
		Tolerance:       o.tolerance,
		ReplayWindow:    o.replayWindow,
		Concurrency:     o.concurrency,
		DispatchTimeout: o.dispatchTimeout,
		RedisPrefix:     o.redisPrefix,
		Logger:          logger,
		hook:            hooks.hook,
	}
	storeDesc := "memory"
	if o.redisURL != "" {
		ropts, err := ParseRedisURL(o.redisURL)
		if err != nil {
			return &UsageError{Name: o.redisURLFrom, Rule: err.Error()}
		}
		cfg.Redis = ropts
		storeDesc = "redis " + redisAddr(ropts)
	}
	rl, err := New(cfg)
	if err != nil {
		return fmt.Errorf("failed to start relay: %w", err)
	}
	if rs, ok := rl.store.(*redisStore); ok {
		// Start anyway: webhooks are answered 503 until Redis answers.
		if err := rs.ping(ctx); err != nil {
			logger.Error("Redis unreachable: webhooks are refused (503) until it answers", "redis", storeDesc, "error", rl.clean(err.Error()))
		}
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		_ = rl.Shutdown(context.Background())
		return fmt.Errorf("failed to listen on %s: %w", o.addr, err)
	}
	ln = newLimitListener(ln, o.maxConnections)
	srv := &http.Server{
		Handler:           rl.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		// Each webhook sets its own body deadline (BodyTimeout) and a write
		// deadline past its dispatch budget; these bound the other paths.
		ReadTimeout:    5*time.Second + DefaultBodyTimeout,
		WriteTimeout:   10 * time.Second,
		IdleTimeout:    30 * time.Second,
		MaxHeaderBytes: 16 << 10,
		ErrorLog:       slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	nRoutes := 0
	for _, ts := range rl.targets {
		nRoutes += len(ts)
	}
	logger.Info("relay listening", "addr", ln.Addr().String(), "github_api_url", o.apiURL,
		"routes", nRoutes, "secrets", len(secrets), "concurrency", o.concurrency, "store", storeDesc,
		"max_connections", o.maxConnections, "dispatch_timeout", o.dispatchTimeout.String(),
		"tolerance", o.tolerance.String(), "replay_window", o.replayWindow.String())
	if hooks.ready != nil {
		hooks.ready(ln.Addr().String())
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
	logger.Info("relay shutting down", "in_flight", rl.Stats().InFlight)
	sctx, cancel := context.WithTimeout(context.Background(), o.shutdownTimeout)
	defer cancel()
	// Stop accepting and let the webhooks in progress finish their
	// dispatches and answer; then close the store.
	if err := srv.Shutdown(sctx); err != nil {
		runErr = errors.Join(runErr, fmt.Errorf("failed to stop the HTTP server: %w", err))
	}
	if err := rl.Shutdown(sctx); err != nil {
		runErr = errors.Join(runErr, err)
	}
	st := rl.Stats()
	logger.Info("relay stopped", "accepted", st.Accepted, "ignored", st.Ignored, "rejected", st.Rejected,
		"refused", st.Refused, "failed", st.Failed, "dispatched", st.Dispatched, "rejected_by_github", st.Rejections,
		"retries", st.Retries, "ambiguous", st.Ambiguous, "resumed", st.Resumed)
	return runErr
}

// redisLogger sends go-redis' own messages (reconnects, pool trouble) to
// the JSON log instead of stderr's plain text. They name addresses, never
// the password.
type redisLogger struct{ l *slog.Logger }

func (r redisLogger) Printf(_ context.Context, format string, v ...any) {
	r.l.Warn("redis client", "message", redact.Neutralize(fmt.Sprintf(format, v...)))
}

// limitListener accepts at most n connections at once; further ones wait
// in the kernel's backlog until one closes.
type limitListener struct {
	net.Listener
	sem chan struct{}
}

func newLimitListener(ln net.Listener, n int) net.Listener {
	return &limitListener{Listener: ln, sem: make(chan struct{}, n)}
}

func (l *limitListener) Accept() (net.Conn, error) {
	l.sem <- struct{}{}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err //nolint:wrapcheck // net/http's Serve inspects the listener's own error (net.Error, net.ErrClosed)
	}
	return &limitConn{Conn: c, release: func() { <-l.sem }}, nil
}

type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err //nolint:wrapcheck // a net.Conn wrapper must return the connection's own error
}
