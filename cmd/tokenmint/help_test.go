package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenmint/tokenmint/internal/cli"
	"github.com/tokenmint/tokenmint/internal/fakeserver"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func runCLI(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := cli.Run(context.Background(), cli.Env{
		Args: args, Stdin: bytes.NewReader(nil), Stdout: &out, Stderr: &errb,
		Getenv: func(string) string { return "" }, Extra: extraCommands(),
	})
	return code, out.String(), errb.String()
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", path, diff)
	}
}

// Every command's --help goes to stdout, exits 0, matches its golden
// file, and equals `tokenmint help CMD` and `CMD -h`.
func TestHelp_Golden(t *testing.T) {
	t.Parallel()
	commands := []string{"mint", "exec", "list", "revoke", "rotate", "action", "version", "relay", "fake-server"}
	for _, name := range commands {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if name == "fake-server" {
				// Its package prints the help; a build without the fakes
				// links only a stub (then tokenmint fake-server --help is a
				// usage error saying how to get them).
				var out bytes.Buffer
				if err := fakeserver.Main(context.Background(), []string{"--help"}, &out, io.Discard, func(string) string { return "" }); err != nil {
					t.Fatal(err)
				}
				golden(t, filepath.Join("help", name+".golden"), out.String())
				if code, o, _ := runCLI(name, "--help"); code == 0 && o != out.String() {
					t.Errorf("tokenmint fake-server --help differs from the fake server's help")
				}
			}
			code, out, errOut := runCLI(name, "--help")
			if name == "fake-server" && code == cli.ExitUsage {
				return // a build without the fakes
			}
			if code != 0 || errOut != "" {
				t.Fatalf("%s --help: exit %d, stderr %q", name, code, errOut)
			}
			golden(t, filepath.Join("help", name+".golden"), out)
			for _, alt := range [][]string{{"help", name}, {name, "-h"}} {
				c2, o2, e2 := runCLI(alt...)
				if c2 != 0 || e2 != "" {
					t.Errorf("%v: exit %d, stderr %q", alt, c2, e2)
				}
				if diff := cmp.Diff(out, o2); diff != "" {
					t.Errorf("%v differs from %s --help (-want +got):\n%s", alt, name, diff)
				}
			}
		})
	}
	t.Run("overview", func(t *testing.T) {
		t.Parallel()
		code, out, errOut := runCLI("--help")
		if code != 0 || errOut != "" {
			t.Fatalf("--help: exit %d, stderr %q", code, errOut)
		}
		golden(t, filepath.Join("help", "overview.golden"), out)
		for _, alt := range [][]string{{"help"}, {"-h"}, {"help", "help"}} {
			c2, o2, _ := runCLI(alt...)
			if c2 != 0 || o2 != out {
				t.Errorf("%v: exit %d, output differs from --help", alt, c2)
			}
		}
		// Without a command: the overview on stderr, a usage error.
		c3, o3, e3 := runCLI()
		if c3 != cli.ExitUsage || o3 != "" || e3 == "" {
			t.Errorf("no command: exit %d, stdout %q", c3, o3)
		}
	})
}

// A bad flag of an extra command is a usage error (exit 2), like the CLI's.
func TestExtra_UsageErrors(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"relay", "fake-server"} {
		if code, _, errOut := runCLI(name, "--bogus"); code != cli.ExitUsage || errOut == "" {
			t.Errorf("%s --bogus: exit %d, stderr %q; want 2 and a message", name, code, errOut)
		}
	}
}
