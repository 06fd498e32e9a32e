package cli

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenmint/tokenmint/internal/ledger"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

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

// TestList_Tables checks list's table on a terminal and off one (golden
// files), with tokens and empty.
func TestList_Tables(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tty := range []bool{false, true} {
		for _, n := range []int{0, 3} {
			name := fmt.Sprintf("list_%d_tty_%v", n, tty)
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				f, env := newFake(t)
				f.Store.Now = func() time.Time { return now }
				ids := 0
				f.IDFunc = func() string { ids++; return fmt.Sprintf("tok_%04d", ids) }
				// Names end in the call's random nonce: keep the golden
				// files stable by storing the prefix.
				f.NameFunc = func(n string) string { return n[:len(n)-1-ledger.NonceLen] }
				for i := 0; i < n; i++ {
					var errb bytes.Buffer
					if code := Run(context.Background(), Env{
						Args: []string{"mint", "--scopes", "tokens:read,audit:read", "--name", fmt.Sprintf("job-%c", 'a'+i), "--ttl", "2h"}, Stdout: io.Discard, Stderr: &errb,
						Getenv: func(k string) string { return env[k] }, Now: func() time.Time { return now },
					}); code != 0 {
						t.Fatalf("mint: %s", errb.String())
					}
				}
				var out, errb bytes.Buffer
				code := Run(context.Background(), Env{
					Args: []string{"list"}, Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb,
					Getenv: func(k string) string { return env[k] }, Now: func() time.Time { return now },
					Terminal: func(io.Writer) bool { return tty },
				})
				if code != 0 {
					t.Fatalf("exit %d: %s", code, errb.String())
				}
				golden(t, name+".golden", out.String())
				if !tty {
					for _, line := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
						if line != "" && strings.Count(line, "\t") != 5 {
							t.Errorf("not 6 tab-separated fields: %q", line)
						}
					}
				}
			})
		}
	}
}

func TestVersionString(t *testing.T) {
	t.Parallel()
	bi := func(v string, settings ...string) *debug.BuildInfo {
		b := &debug.BuildInfo{Main: debug.Module{Path: "github.com/tokenmint/tokenmint", Version: v}}
		for i := 0; i+1 < len(settings); i += 2 {
			b.Settings = append(b.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
		}
		return b
	}
	cases := []struct {
		name    string
		stamped string
		bi      *debug.BuildInfo
		ok      bool
		want    string
	}{
		{"stamped_wins", "v1.4.0", bi("v9.9.9"), true, "v1.4.0"},
		{"go_install_release", "dev", bi("v1.3.2"), true, "v1.3.2"},
		{"go_install_pseudo", "dev", bi("v1.3.3-0.20261130120000-abcdef123456", "vcs.revision", "abcdef1234567890"), true, "v1.3.3-0.20261130120000-abcdef123456"},
		{"local_build_with_vcs", "dev", bi("(devel)", "vcs.revision", "0123456789abcdef0123", "vcs.modified", "true"), true, "dev (0123456789ab, modified)"},
		{"no_build_info", "dev", nil, false, "dev"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tc.want, versionString(tc.stamped, tc.bi, tc.ok)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
