// Package fakeserver runs tokenmint's bundled fake services on 127.0.0.1
// for the quick start, the self-test workflow and the benchmarks:
// `tokenmint fake-server`. Each service is mounted under its own prefix.
package fakeserver

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	faketooken "github.com/tokenmint/tokenmint/internal/fake/tooken"
)

// Default admin keys of the fake services (not secrets: they only open
// the fake, which holds nothing).
const (
	TookenKey = "tok_live_fakeadminkey0000000000000000"
)

// Services is the set of fakes behind one handler.
type Services struct {
	Tooken *faketooken.Server
}

// New returns the fakes and a handler that mounts them:
// /tooken/v1/… is the Tooken API (api-url http://HOST/tooken/v1).
func New() (*Services, http.Handler) {
	s := &Services{Tooken: faketooken.New(TookenKey, nil)}
	mux := http.NewServeMux()
	mux.Handle("/tooken/", http.StripPrefix("/tooken", s.Tooken))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	return s, mux
}

// Main is `tokenmint fake-server [--addr 127.0.0.1:0] [--url-file F]`. It
// prints the base URL and each service's api-url, then serves until ctx
// ends.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("fake-server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:0", "listen address (loopback only)")
	urlFile := fs.String("url-file", "", "also write the base URL to this file (for scripts)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	host, _, err := net.SplitHostPort(*addr)
	if err != nil || (host != "127.0.0.1" && host != "localhost" && host != "::1") {
		return errors.New("failed to start: --addr must be a loopback address such as 127.0.0.1:8080")
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("failed to listen: %w", err)
	}
	_, h := New()
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	base := "http://" + ln.Addr().String()
	fmt.Fprintf(stdout, "fake services listening on %s\n", base)
	fmt.Fprintf(stdout, "  tooken   api-url %s/tooken/v1   admin key %s\n", base, TookenKey)
	if *urlFile != "" {
		if err := writeFile(*urlFile, base+"\n"); err != nil {
			return err
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
		return err
	}
}

func writeFile(path, s string) error {
	tmp := path + ".tmp"
	if err := osWriteFile(tmp, []byte(s)); err != nil {
		return fmt.Errorf("failed to write --url-file: %w", err)
	}
	return osRename(tmp, path)
}
