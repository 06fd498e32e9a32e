package rest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tokenmint/tokenmint/internal/inputerr"
	"github.com/tokenmint/tokenmint/internal/provider"
)

func TestCheckTTLGranularity(t *testing.T) {
	t.Parallel()
	const base = `
base_url: https://api.example.com
auth: {header: Authorization, value: "Bearer {{admin_key}}"}
create:
  path: /keys
  BODYFMT
  response: {id: /id, secret: /key}
revoke: {path: "/keys/{{id}}"}
`
	cases := []struct {
		name string
		body string
		ttl  time.Duration
		ok   bool
	}{
		{"rfc3339_any_ttl", `body: {name: "{{name}}", expires: "{{expiry}}"}`, 90 * time.Second, true},
		{"seconds_any_ttl", `body: {name: "{{name}}", ttl: "{{expiry:seconds}}"}`, 90 * time.Second, true},
		{"days_placeholder_partial_day", `body: {name: "{{name}}", days: "{{expiry:days}}"}`, 36 * time.Hour, false},
		{"days_placeholder_under_a_day", `body: {name: "{{name}}", days: "{{expiry:days}}"}`, time.Hour, false},
		{"days_placeholder_whole_days", `body: {name: "{{name}}", days: "{{expiry:days}}"}`, 48 * time.Hour, true},
		{"days_format", "expiry_format: days\n  body: {name: \"{{name}}\", nested: [{d: \"{{expiry}}\"}]}", 2 * time.Hour, false},
		{"no_expiry_sent", `body: {name: "{{name}}"}`, time.Hour, true},
		{"days_next_to_seconds", `body: {name: "{{name}}", days: "{{expiry:days}}", s: "{{expiry:seconds}}"}`, time.Hour, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			prof, err := Parse([]byte(strings.Replace(base, "BODYFMT", tc.body, 1)))
			if err != nil {
				t.Fatalf("profile: %v", err)
			}
			errs := checkMint(prof, provider.MintRequest{Name: "n", TTL: tc.ttl})
			var ttlErr bool
			for _, e := range errs {
				var ie *inputerr.Error
				if errors.As(e, &ie) && ie.Input == "ttl" {
					ttlErr = true
				}
			}
			if ttlErr == tc.ok {
				t.Fatalf("checkMint(ttl %s) errors %v, want ttl accepted %v", tc.ttl, errs, tc.ok)
			}
		})
	}
}
