package config_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenmint/tokenmint/internal/config"
	"github.com/tokenmint/tokenmint/internal/fake/ghapp"
)

func TestParse_UndeclaredPermissionInputs(t *testing.T) {
	t.Parallel()
	key := ghappPEM(t)
	cases := []struct {
		name    string
		environ []string
		want    []string
	}{
		{"none", []string{"INPUT_PERMISSION-ISSUES=write", "PATH=/bin"}, nil},
		{"typo", []string{"INPUT_PERMISSION-ISUES=write"}, []string{"permission-isues"}},
		{"two_typos_both_named", []string{"INPUT_PERMISSION-ISUES=write", "INPUT_PERMISSION-CONTENT=read"}, []string{"permission-content", "permission-isues"}},
		{"empty_value_is_nothing_asked", []string{"INPUT_PERMISSION-ISUES="}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, provider := range []string{"github-app", "tooken"} {
				v := config.Values{"provider": provider, "admin-key": key, "client-id": "123"}
				if provider == "tooken" {
					v = tookenValues(nil)
				}
				for k, val := range config.UndeclaredPermissionInputs(tc.environ) {
					v[k] = val
				}
				_, err := config.Parse(v, testEnv())
				if diff := cmp.Diff(tc.want, inputsOf(t, err)); diff != "" {
					t.Errorf("%s: inputs in error %v (-want +got):\n%s", provider, err, diff)
				}
			}
		})
	}
}

// ghappPEM is a valid GitHub App key for config tests.
func ghappPEM(t *testing.T) string {
	t.Helper()
	return ghapp.TestKey(0).PKCS1PEM()
}
