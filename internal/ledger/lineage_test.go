package ledger_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tokenmint/tokenmint/internal/ledger"
)

// TestRotation_DefaultPrefixInjective: rotations whose readable parts
// coincide still get different prefixes, and the prefix is stable.
func TestRotation_DefaultPrefixInjective(t *testing.T) {
	t.Parallel()
	rots := []ledger.Rotation{
		{Repositories: []string{"acme/labs-web"}, SecretName: "TOKEN"},
		{Repositories: []string{"acme-labs/web"}, SecretName: "TOKEN"},
		{Repositories: []string{"acme/labs-web"}, SecretName: "TOKEN", SecretType: "dependabot"},
		{Repositories: []string{"acme/labs-web"}, SecretName: "TOKEN", Environment: "prod"},
		{Repositories: []string{"acme/labs-web"}, SecretName: "TOKEN", Environment: "prod-eu"},
		{Repositories: []string{"acme/labs-web", "acme/api"}, SecretName: "TOKEN"},
		{Org: "acme", SecretName: "TOKEN"},
		{Org: "acme-labs", SecretName: "TOKEN"},
		{Repositories: []string{"acme/labs-web"}, SecretName: "TOKEN2"},
	}
	seen := map[string]int{}
	for i, r := range rots {
		p := r.DefaultPrefix()
		if j, ok := seen[p]; ok {
			t.Errorf("rotations %d and %d share the prefix %q", j, i, p)
		}
		seen[p] = i
		if again := r.DefaultPrefix(); again != p {
			t.Errorf("prefix not stable: %q then %q", p, again)
		}
		if strings.ContainsAny(p, " /") {
			t.Errorf("prefix %q holds unsafe characters", p)
		}
	}
	// The same identity in another spelling (order, case of the owner).
	a := ledger.Rotation{Repositories: []string{"Acme/Web", "acme/api"}, SecretName: "T"}
	b := ledger.Rotation{Repositories: []string{"acme/api", "acme/web"}, SecretName: "T", SecretType: "actions"}
	if strings.TrimPrefix(a.DefaultPrefix(), "tokenmint-") == "" || hashOf(a.DefaultPrefix()) != hashOf(b.DefaultPrefix()) {
		t.Errorf("one identity, two hashes: %q, %q", a.DefaultPrefix(), b.DefaultPrefix())
	}
}

func hashOf(p string) string { return p[strings.LastIndex(p, "-")+1:] }

func TestLineage_Match(t *testing.T) {
	t.Parallel()
	g := ledger.NewLineage("pre")
	ts := "20261123T170000Z"
	n := "k3f6q2m7x4abz"
	cases := []struct {
		in string
		ok bool
	}{
		{"pre-" + ts + "-" + n, true},
		{"pre-" + ts + "-" + n + "-2", true},
		{"pre-" + ts + "-" + n + "-99", true},
		{"pre-" + ts + "-" + n + "-1", false},
		{"pre-" + ts + "-" + n + "-02", false},
		{"pre-" + ts + "-" + n + "-100", false},
		{"pre-" + ts, false}, // no nonce: not ours to retire
		{"pre-" + ts + "-manual", false},
		{"pre-" + ts + "-" + strings.ToUpper(n), false},
		{"PRE-" + ts + "-" + n, false},
		{"pre-x-" + ts + "-" + n, false},
		{"xpre-" + ts + "-" + n, false},
		{"prefix-" + ts + "-" + n, false},
		{"pre-20261323T170000Z-" + n, false},
		{"pre-20261123T170000-" + n, false},
		{"pre", false},
	}
	for _, tc := range cases {
		got, ok := g.Match(tc.in)
		if ok != tc.ok {
			t.Errorf("Match(%q) ok = %v, want %v", tc.in, ok, tc.ok)
		}
		if ok && !got.Equal(time.Date(2026, 11, 23, 17, 0, 0, 0, time.UTC)) {
			t.Errorf("Match(%q) = %v", tc.in, got)
		}
	}
	// A prefix with regexp metacharacters matches only itself.
	if _, ok := ledger.NewLineage("a.b").Match("axb-" + ts + "-" + n); ok {
		t.Errorf("a.b matched axb")
	}
	// Names a rotation ledger sends are in its lineage.
	l, err := ledger.New(ledger.Options{Prefix: strings.Repeat("p", 200), Stamp: ts, MaxNameLen: 100})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 5; i++ {
		if _, ok := ledger.NewLineage(l.Prefix()).Match(l.Name(i)); !ok || len(l.Name(i)) > 100 {
			t.Errorf("name %d %q is not in its lineage or too long", i, l.Name(i))
		}
	}
}
