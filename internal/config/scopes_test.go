package config_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenmint/tokenmint/internal/config"
	"github.com/tokenmint/tokenmint/internal/inputerr"
)

// A bad scope is named once, the valid list said once, never a value that
// could be a pasted secret.
func TestParse_BadScopesNamedOnce(t *testing.T) {
	t.Parallel()
	const valid = "tokens:read, tokens:write, tokens:revoke, tokens:rotate, audit:read, webhooks:read, webhooks:write"
	cases := []struct {
		name, scopes, want string
	}{
		{"one", "tokens:read, tokens:wrte", `"tokens:wrte" is not a tooken scope: use ` + valid},
		{"two", "tokens:wrte\naudit:reed", `"tokens:wrte", "audit:reed" are not a tooken scope: use ` + valid},
		{"secret_like_by_position", "tokens:read,tok_live_0123456789abcdefghijklmnop", `item 2 is not a tooken scope: use ` + valid},
		{"admin_key_part", "tk_admin_0123", `item 1 is not a tooken scope: use ` + valid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := config.Parse(tookenValues(map[string]string{"scopes": tc.scopes}), testEnv())
			ies, rest := inputerr.List(err)
			if len(rest) > 0 || len(ies) != 1 {
				t.Fatalf("want one input error, got %v", err)
			}
			if diff := cmp.Diff(tc.want, ies[0].Rule); diff != "" {
				t.Errorf("rule (-want +got):\n%s", diff)
			}
		})
	}
}
