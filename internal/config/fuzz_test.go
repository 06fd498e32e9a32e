package config_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tokenmint/tokenmint/internal/config"
	"github.com/tokenmint/tokenmint/internal/inputerr"
)

func FuzzSplitList(f *testing.F) {
	for _, s := range []string{"", "a,b", " a ,\n b\r\n", ",,,", "contents:read, issues:write", "a\rb", "\u00a0a\u00a0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		items := config.SplitList(s)
		for _, it := range items {
			if it == "" || it != strings.TrimSpace(it) || strings.ContainsAny(it, ",\r\n") {
				t.Fatalf("SplitList(%q) gave item %q", s, it)
			}
			if !strings.Contains(s, it) {
				t.Fatalf("SplitList(%q) gave item %q not in the input", s, it)
			}
		}
		// Splitting the joined items again is stable.
		again := config.SplitList(strings.Join(items, ","))
		if strings.Join(again, "\x00") != strings.Join(items, "\x00") {
			t.Fatalf("SplitList not stable: %q then %q", items, again)
		}
	})
}

func FuzzParseTTL(f *testing.F) {
	for _, s := range []string{"1h", "7d", "90m", "0d", "-1d", "1.5d", "100000d", "9223372036854775807ns", "1e9d", " 2d ", "d", "+1d", "٣d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := config.ParseTTL(s)
		if err != nil {
			if d != 0 {
				t.Fatalf("ParseTTL(%q) = %v with error %v", s, d, err)
			}
			return
		}
		if d <= 0 {
			t.Fatalf("ParseTTL(%q) = %v, want > 0", s, d)
		}
		if days, ok := strings.CutSuffix(strings.TrimSpace(s), "d"); ok && d%(24*time.Hour) != 0 && !strings.ContainsAny(days, "hmsuµn.") {
			t.Fatalf("ParseTTL(%q) = %v: days that are not whole", s, d)
		}
	})
}

// parseInputs lists the inputs FuzzParse fills, one fuzzed string each.
var parseInputs = []string{"provider", "api-url", "client-id", "name", "scopes", "ttl", "owner", "repositories", "permissions", "export-env", "revoke", "timeout", "secret-name", "previous-token-grace", "dry-run", "provider-config"}

func FuzzParse(f *testing.F) {
	f.Add("tooken", "tokens:read", "1h", "", "API_TOKEN", "", "", "")
	f.Add("github-app", "", "1h", "Iv23liABCDEF", "", "octo", "contents:read", "")
	f.Add("groo", "", "7d", "client-1", "X", "", "", "")
	f.Add("rest", "", "2d", "", "", "", "", "base_url: https://x.example.com\n")
	f.Add("hookbase", "webhooks:read", "0s", "", "PATH", "", "", "")
	f.Add("TOOKEN", "tokens:read\ntokens:write", "91d", "", "", "o/r", "a:b,c", "{}")
	f.Fuzz(func(t *testing.T, prov, scopes, ttl, clientID, exportEnv, owner, perms, profile string) {
		// The admin key is built from fuzzed text too, and every other
		// input gets the key's value at least once: errors must hold it in
		// no input.
		key := "AK" + prov + scopes + "-admin-key-value-Zq9"
		vals := config.Values{
			"provider": prov, "admin-key": key, "scopes": scopes, "ttl": ttl, "client-id": clientID,
			"export-env": exportEnv, "owner": owner, "permissions": perms, "provider-config": profile,
			"name": key, "description": key, "api-url": "https://" + key, "timeout": key,
			"revoke": key, "secret-name": key, "previous-token-grace": key,
		}
		env := config.Env{Repository: owner + "/" + clientID, RunID: ttl, Action: exportEnv, Workspace: t.TempDir(), Now: func() time.Time { return fixedNow }}
		for i, in := range []func(config.Values, config.Env) (*config.Config, error){config.Parse, config.ParseManage} {
			cfg, err := in(vals, env)
			if err != nil {
				if strings.Contains(err.Error(), key) {
					t.Fatalf("parse %d: error holds the admin key: %v", i, err)
				}
				var ie *inputerr.Error
				if !errors.As(err, &ie) && !strings.HasPrefix(err.Error(), "failed to") {
					t.Fatalf("parse %d: error is neither an input error nor a failure to read: %v", i, err)
				}
				continue
			}
			if cfg.AdminKey.Reveal() != strings.TrimSpace(key) {
				t.Fatalf("parse %d: admin key changed", i)
			}
			if cfg.Spec.MaxNameLen > 0 && len(cfg.Name) > cfg.Spec.MaxNameLen {
				t.Fatalf("parse %d: name %q over the %s limit %d", i, cfg.Name, cfg.Provider, cfg.Spec.MaxNameLen)
			}
			if cfg.TTL <= 0 || cfg.Timeout <= 0 {
				t.Fatalf("parse %d: accepted ttl %v, timeout %v", i, cfg.TTL, cfg.Timeout)
			}
		}
		// A fully fuzzed set of values, with the rest at defaults, never
		// panics either.
		loose := config.Values{}
		all := []string{prov, scopes, ttl, clientID, exportEnv, owner, perms, profile}
		for i, name := range parseInputs {
			loose[name] = all[i%len(all)]
		}
		_, _ = config.Parse(loose, env)
	})
}
