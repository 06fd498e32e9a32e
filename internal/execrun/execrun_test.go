//go:build unix

package execrun_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenmint/tokenmint/internal/execrun"
	"github.com/tokenmint/tokenmint/internal/fake/child"
)

func TestMain(m *testing.M) {
	child.Main()
	os.Exit(m.Run())
}

func spec(args ...string) execrun.Spec {
	return execrun.Spec{
		Args: append([]string{os.Args[0]}, args...),
		Env:  append(os.Environ(), child.Env()),
	}
}

func TestRun_ExitStatus(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		args    []string
		want    int
		wantSig syscall.Signal
	}{
		{"zero", []string{"exit", "0"}, 0, 0},
		{"three", []string{"exit", "3"}, 3, 0},
		{"sigterm", []string{"kill", "TERM"}, 143, syscall.SIGTERM},
		{"sigkill", []string{"kill", "KILL"}, 137, syscall.SIGKILL},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, err := execrun.Run(spec(tc.args...))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([2]int{tc.want, int(tc.wantSig)}, [2]int{res.Code, int(res.Signal)}); diff != "" {
				t.Fatalf("code, signal (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRun_NotFound(t *testing.T) {
	t.Parallel()
	_, err := execrun.Run(execrun.Spec{Args: []string{"tokenmint-no-such-command-xyz"}})
	var se *execrun.StartError
	if !errors.As(err, &se) || se.Code() != 127 {
		t.Fatalf("err = %v, want a StartError with code 127", err)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "noexec")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = execrun.Run(execrun.Spec{Args: []string{p}})
	if !errors.As(err, &se) || se.Code() != 126 {
		t.Fatalf("err = %v, want a StartError with code 126", err)
	}
}

// ready is a writer that closes a channel on the first write.
type ready struct {
	buf  bytes.Buffer
	once chan struct{}
}

func (r *ready) Write(p []byte) (int, error) {
	if r.buf.Len() == 0 {
		close(r.once)
	}
	return r.buf.Write(p)
}

func TestRun_ForwardsSignals(t *testing.T) {
	t.Parallel()
	for _, group := range []bool{false, true} {
		for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP} {
			name := sig.String()
			if group {
				name += "_group"
			}
			t.Run(strings.ReplaceAll(name, " ", "_"), func(t *testing.T) {
				t.Parallel()
				file := filepath.Join(t.TempDir(), "got")
				s := spec("wait-signal", file)
				s.NewGroup = group
				out := &ready{once: make(chan struct{})}
				s.Stdout = out
				sigs := make(chan os.Signal, 1)
				s.Signals = sigs
				go func() {
					select {
					case <-out.once:
						sigs <- sig
					case <-time.After(30 * time.Second):
					}
				}()
				res, err := execrun.Run(s)
				if err != nil {
					t.Fatal(err)
				}
				got, _ := os.ReadFile(file)
				if diff := cmp.Diff(sig.String(), string(got)); diff != "" {
					t.Errorf("signal COMMAND received (-want +got):\n%s", diff)
				}
				if res.Code != 128+int(sig) {
					t.Errorf("code = %d, want %d", res.Code, 128+int(sig))
				}
				if diff := cmp.Diff([]os.Signal{sig}, res.Forwarded); diff != "" {
					t.Errorf("forwarded (-want +got):\n%s", diff)
				}
			})
		}
	}
}
