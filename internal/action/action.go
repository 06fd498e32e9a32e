// Package action runs tokenmint as a GitHub Action: the main phase mints,
// masks and hands out the token; the post phase revokes it. Both follow
// ../shared/spec.md "Main phase" and "Post phase" step by step.
package action

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/sethvargo/go-githubactions"

	"github.com/tokenmint/tokenmint/internal/config"
	"github.com/tokenmint/tokenmint/internal/httpx"
	"github.com/tokenmint/tokenmint/internal/inputerr"
	"github.com/tokenmint/tokenmint/internal/redact"
)

// ErrFailed means the phase failed and has already reported why.
var ErrFailed = errors.New("the step failed")

// State keys shared by the two phases (read back as STATE_<key>).
const (
	stProvider       = "provider"
	stAPIURL         = "api-url"
	stClientID       = "client-id"
	stProviderConfig = "provider-config"
	stAuthHeader     = "auth-header"
	stTimeout        = "timeout"
	stName           = "token-name"
	stLedger         = "ledger" // package ledger: nonce, every name sent, outcomes
	stRevoke         = "revoke"
	stRevokeFailure  = "revoke-failure"
	stID             = "token-id"
	stExpires        = "expires-at"
	stSecret         = "token" // github-app only: its revocation authenticates with the token
	stScopes         = "scopes"
)

// Runtime is what a phase needs from its process: the environment, where
// to log, and (in tests) the HTTP client and the clock.
type Runtime struct {
	Getenv func(string) string
	Stdout io.Writer
	// HTTPClient, when set, replaces the proxy-aware default (tests).
	HTTPClient *http.Client
	Now        func() time.Time
	// Backoff shortens retry waits (tests); zero keeps the defaults.
	Backoff time.Duration

	// Environ lists the environment, where undeclared INPUT_PERMISSION-*
	// inputs are found (nil: os.Environ). A test that sets Getenv sets
	// Environ to match.
	Environ func() []string
	// announcer records what this phase told the runner to mask, apart
	// from what masker knows (see mask.go).
	announcer *redact.Announcer

	masker *redact.Masker
	gha    *githubactions.Action
	files  *FileCommands
}

// NewRuntime returns the runtime of a real process.
func NewRuntime() *Runtime {
	return &Runtime{Getenv: os.Getenv, Stdout: os.Stdout}
}

func (r *Runtime) init() {
	if r.Now == nil {
		r.Now = time.Now
	}
	if r.Getenv == nil {
		r.Getenv = os.Getenv
	}
	if r.Environ == nil {
		r.Environ = os.Environ
	}
	if r.Stdout == nil {
		r.Stdout = os.Stdout
	}
	r.masker = redact.NewMasker()
	r.gha = githubactions.New(
		githubactions.WithWriter(&maskingWriter{w: r.Stdout, m: r.masker}),
		githubactions.WithGetenv(r.Getenv),
	)
	r.announcer = redact.NewAnnouncer(r.gha.AddMask)
	r.files = &FileCommands{Getenv: r.Getenv}
}

// protect registers a secret with the local masker only (before the
// runner may be told, e.g. while inputs are still being validated).
func (r *Runtime) protect(value string) {
	if strings.TrimSpace(value) != "" {
		r.masker.Add(value)
	}
}

func (r *Runtime) httpClient(timeout time.Duration, service string) *httpx.Client {
	opts := []httpx.Option{
		httpx.WithTimeout(timeout),
		httpx.WithRetryBudget(max(httpx.DefaultRetryBudget, 3*timeout)),
		httpx.WithMasker(r.masker),
		httpx.WithService(service),
	}
	if r.HTTPClient != nil {
		opts = append(opts, httpx.WithHTTPClient(r.HTTPClient))
	}
	if r.Backoff > 0 {
		opts = append(opts, httpx.WithBackoff(r.Backoff, 4*r.Backoff))
	}
	return httpx.New(opts...)
}

// input reads an action input the way the runner sets it: INPUT_ + the
// upper-cased name with dashes kept. Secret inputs are not trimmed inside
// (a PEM keeps its lines); surrounding whitespace is dropped.
func (r *Runtime) input(name string) string {
	return strings.TrimSpace(r.Getenv("INPUT_" + strings.ToUpper(strings.ReplaceAll(name, " ", "_"))))
}

func (r *Runtime) state(key string) string { return r.Getenv("STATE_" + key) }

// reportInputErrors prints one ::error:: per bad input.
func (r *Runtime) reportInputErrors(err error) {
	inputs, rest := inputerr.List(err)
	for _, ie := range inputs {
		if ie.File != "" && ie.Line > 0 && !strings.ContainsAny(ie.File, ",:\r\n%") {
			// A rest profile's line: an annotation on the file.
			r.gha.WithFieldsMap(map[string]string{"file": ie.File, "line": strconv.Itoa(ie.Line)}).Errorf("%s", ie.Error())
			continue
		}
		r.gha.Errorf("%s", ie.Error())
	}
	for _, e := range rest {
		r.gha.Errorf("%s", e.Error())
	}
}

// errorf prints an ::error:: line whose text may hold server text: it is
// masked by the writer and neutralized here.
func (r *Runtime) errorf(format string, args ...any) {
	r.gha.Errorf("%s", redact.Neutralize(fmt.Sprintf(format, args...)))
}

func (r *Runtime) warnf(format string, args ...any) {
	r.gha.Warningf("%s", redact.Neutralize(fmt.Sprintf(format, args...)))
}

func (r *Runtime) noticef(format string, args ...any) {
	r.gha.Noticef("%s", redact.Neutralize(fmt.Sprintf(format, args...)))
}

func (r *Runtime) infof(format string, args ...any) {
	r.gha.Infof("%s", redact.Neutralize(fmt.Sprintf(format, args...)))
}

// Values reads every declared input from the environment.
func (r *Runtime) Values() config.Values {
	v := config.Values{}
	for _, in := range config.AllInputs() {
		v[in.Name] = r.Getenv("INPUT_" + strings.ToUpper(in.Name))
	}
	for k, val := range config.UndeclaredPermissionInputs(r.Environ()) {
		v[k] = val
	}
	return v
}

// Run dispatches a phase by name ("main" or "post").
func Run(ctx context.Context, rt *Runtime, phase string) error {
	switch phase {
	case "main":
		return Main(ctx, rt)
	case "post":
		return Post(ctx, rt)
	}
	return fmt.Errorf("unknown action phase %q: use main or post", phase)
}
