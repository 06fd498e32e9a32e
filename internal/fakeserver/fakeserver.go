// Package fakeserver runs tokenmint's bundled fake services for the quick
// start, the self-test workflow and the benchmarks: `tokenmint
// fake-server`. Each service is mounted under its own prefix of one
// server:
//
//	/tooken/v1/…  Tooken      (api-url BASE/tooken/v1)
//	/hookbase/…   Hookbase    (api-url BASE/hookbase)
//	/groo/…       Groo        (api-url BASE/groo)
//	/github/…     GitHub App installation tokens and Actions/Dependabot/
//	              Codespaces secrets on one sub-mux (api-url and
//	              github-api-url BASE/github)
//
// It listens on loopback only unless --allow-non-loopback is given (for a
// container action, which cannot reach the runner's 127.0.0.1); with
// --tls-ca-file it serves HTTPS with a fresh self-signed certificate and
// writes that certificate where clients can trust it (SSL_CERT_FILE),
// since the action accepts http:// only for loopback hosts.
package fakeserver

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tokenmint/tokenmint/internal/clihelp"
	"github.com/tokenmint/tokenmint/internal/fake/ghapp"
	"github.com/tokenmint/tokenmint/internal/fake/ghsecrets"
	fakegroo "github.com/tokenmint/tokenmint/internal/fake/groo"
	fakehookbase "github.com/tokenmint/tokenmint/internal/fake/hookbase"
	faketooken "github.com/tokenmint/tokenmint/internal/fake/tooken"
)

// Credentials of the fake services. They are not secrets: they open only
// the fakes, which hold nothing.
const (
	TookenKey      = "tok_live_fakeadminkey0000000000000000"
	HookbaseKey    = "whr_live_fakeadminkey000000000000000"
	GrooClientID   = "app_tokenmintfake"
	GrooSecret     = "cs_live_fakeclientsecret0000000000000"
	GitHubToken    = "ghp_fakegithubtoken000000000000000000000"
	GitHubClientID = ghapp.DefaultClientID
	GitHubAppOwner = ghapp.DefaultOrg
)

// Services is the set of fakes behind one handler.
type Services struct {
	Tooken    *faketooken.Server
	Hookbase  *fakehookbase.Server
	Groo      *fakegroo.Server
	GitHubApp *ghapp.Server
	Secrets   *ghsecrets.Server
}

// Prefixes of the services (the api-url is the server's base URL followed
// by the prefix; Tooken's also by /v1).
const (
	PrefixTooken   = "/tooken"
	PrefixHookbase = "/hookbase"
	PrefixGroo     = "/groo"
	PrefixGitHub   = "/github"
)

// APIURLs returns each service's api-url for a server at base.
func APIURLs(base string) map[string]string {
	return map[string]string{
		"tooken":     base + PrefixTooken + "/v1",
		"hookbase":   base + PrefixHookbase,
		"groo":       base + PrefixGroo,
		"github-app": base + PrefixGitHub,
		"github":     base + PrefixGitHub,
	}
}

// New returns the fakes and a handler that mounts them under their
// prefixes, plus GET /healthz.
func New() (*Services, http.Handler) {
	s := &Services{
		Tooken:    faketooken.New(TookenKey, nil),
		Hookbase:  fakehookbase.New(HookbaseKey, nil, fakehookbase.Options{}),
		Groo:      fakegroo.New(GrooClientID, GrooSecret),
		GitHubApp: ghapp.NewDefault(""),
		Secrets:   ghsecrets.New(GitHubToken),
	}
	s.Secrets.AutoRepos = true
	gh := http.NewServeMux()
	s.GitHubApp.Register(gh)
	s.Secrets.Register(gh)

	mux := http.NewServeMux()
	mux.Handle(PrefixTooken+"/", http.StripPrefix(PrefixTooken, s.Tooken))
	mux.Handle(PrefixHookbase+"/", http.StripPrefix(PrefixHookbase, s.Hookbase))
	mux.Handle(PrefixGroo+"/", http.StripPrefix(PrefixGroo, s.Groo))
	mux.Handle(PrefixGitHub+"/", http.StripPrefix(PrefixGitHub, gh))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	return s, mux
}

// UsageError is a bad flag or argument: the CLI exits 2 (it asks
// UsageError()).
type UsageError struct{ Err error }

func (e *UsageError) Error() string    { return e.Err.Error() }
func (e *UsageError) Unwrap() error    { return e.Err }
func (e *UsageError) UsageError() bool { return true }

// options are the command's flags.
type options struct {
	addr          string
	allowExternal bool
	urlFile       string
	caFile        string
	sans          string
	keyFile       string
}

// Main is `tokenmint fake-server [flags]`. It prints the base URL, each
// service's api-url and credential, then serves until ctx ends.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("fake-server", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	var o options
	fs.StringVar(&o.addr, "addr", "127.0.0.1:0", "listen address (loopback unless --allow-non-loopback)")
	fs.BoolVar(&o.allowExternal, "allow-non-loopback", false, "allow a non-loopback --addr, such as the Docker bridge gateway, so a container action can reach the fake")
	fs.StringVar(&o.urlFile, "url-file", "", "also write the base URL to this file (for scripts)")
	fs.StringVar(&o.caFile, "tls-ca-file", "", "serve HTTPS with a fresh self-signed certificate and write it (PEM) to this file, for SSL_CERT_FILE")
	fs.StringVar(&o.sans, "tls-hosts", "", "extra host names or IPs (comma separated) the certificate is valid for; the --addr host, localhost, 127.0.0.1 and ::1 always are")
	fs.StringVar(&o.keyFile, "github-key-file", "", "write the fake GitHub App's private key (PEM) to this file (default: a temporary file, removed on exit)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			clihelp.Write(stdout, clihelp.Page{
				Usage:   "tokenmint fake-server [flags]",
				Summary: "Serve the bundled fake token services (Tooken, Hookbase, Groo, GitHub App tokens and secrets) on one loopback server, for the quick start, the self-test workflow and the benchmarks. It prints the base URL, each service's api-url and credential, then serves until interrupted.",
				Notes:   []string{"The credentials it prints open only the fakes, which hold nothing."},
			}, fs)
			return nil
		}
		return &UsageError{Err: fmt.Errorf("failed to parse arguments: %w", err)}
	}
	if fs.NArg() > 0 {
		return &UsageError{Err: fmt.Errorf("failed to parse arguments: unexpected %q", fs.Arg(0))}
	}
	host, _, err := net.SplitHostPort(o.addr)
	if err != nil {
		return fmt.Errorf("failed to parse --addr: %w", err)
	}
	if !o.allowExternal && !isLoopback(host) {
		return errors.New("failed to start: --addr must be a loopback address such as 127.0.0.1:8080 (or pass --allow-non-loopback)")
	}
	svc, h := New()

	keyFile := o.keyFile
	if keyFile == "" {
		dir, err := os.MkdirTemp("", "tokenmint-fake-")
		if err != nil {
			return fmt.Errorf("failed to create a key directory: %w", err)
		}
		defer os.RemoveAll(dir)
		keyFile = filepath.Join(dir, "github-app.pem")
	}
	if err := writeFile(keyFile, svc.GitHubApp.App.Key.PKCS1PEM(), 0o600); err != nil {
		return fmt.Errorf("failed to write --github-key-file: %w", err)
	}

	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("failed to listen: %w", err)
	}
	scheme := "http"
	if o.caFile != "" {
		hosts := []string{"localhost", "127.0.0.1", "::1"}
		if host != "" && !net.ParseIP(host).IsUnspecified() {
			hosts = append(hosts, host)
		}
		for _, h := range strings.Split(o.sans, ",") {
			if h = strings.TrimSpace(h); h != "" {
				hosts = append(hosts, h)
			}
		}
		cfg, certPEM, err := SelfSignedTLS(hosts, time.Now())
		if err != nil {
			ln.Close()
			return err
		}
		if err := writeFile(o.caFile, string(certPEM), 0o644); err != nil {
			ln.Close()
			return fmt.Errorf("failed to write --tls-ca-file: %w", err)
		}
		ln = tlsListener(ln, cfg)
		scheme = "https"
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	base := scheme + "://" + ln.Addr().String()
	urls := APIURLs(base)
	fmt.Fprintf(stdout, "fake services listening on %s\n", base)
	fmt.Fprintf(stdout, "  tooken      api-url %s  admin-key %s\n", urls["tooken"], TookenKey)
	fmt.Fprintf(stdout, "  hookbase    api-url %s  admin-key %s\n", urls["hookbase"], HookbaseKey)
	fmt.Fprintf(stdout, "  groo        api-url %s  client-id %s  admin-key %s\n", urls["groo"], GrooClientID, GrooSecret)
	fmt.Fprintf(stdout, "  github-app  api-url %s  client-id %s  owner %s  admin-key: the PEM in %s\n", urls["github-app"], GitHubClientID, GitHubAppOwner, keyFile)
	fmt.Fprintf(stdout, "  secrets     github-api-url %s  github-token %s\n", urls["github"], GitHubToken)
	if o.caFile != "" {
		fmt.Fprintf(stdout, "  TLS: trust %s (SSL_CERT_FILE=%s)\n", o.caFile, o.caFile)
	}
	if o.urlFile != "" {
		if err := writeFile(o.urlFile, base+"\n", 0o644); err != nil {
			ln.Close()
			return fmt.Errorf("failed to write --url-file: %w", err)
		}
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("failed to serve: %w", err)
	}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// writeFile writes s to path through a temporary file and a rename, so a
// script polling for path never reads half of it.
func writeFile(path, s string, mode os.FileMode) error {
	tmp := path + ".tmp"
	if err := osWriteFile(tmp, []byte(s), mode); err != nil {
		return err
	}
	return osRename(tmp, path)
}
