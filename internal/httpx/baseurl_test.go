package httpx_test

import (
	"testing"

	"github.com/tokenmint/tokenmint/internal/httpx"
)

func TestGitHubAPIBase(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in, want string
		wantErr  bool
	}{
		{in: "https://api.github.com", want: "https://api.github.com"},
		{in: "https://api.github.com/", want: "https://api.github.com"},
		{in: "https://api.octocorp.ghe.com", want: "https://api.octocorp.ghe.com"},
		{in: "https://ghes.example.com", want: "https://ghes.example.com/api/v3"},
		{in: "https://ghes.example.com/", want: "https://ghes.example.com/api/v3"},
		{in: "https://ghes.example.com/api/v3", want: "https://ghes.example.com/api/v3"},
		{in: "https://ghes.example.com/api/v3/", want: "https://ghes.example.com/api/v3"},
		{in: "https://example.com/proxy/github", want: "https://example.com/proxy/github"},
		{in: "http://127.0.0.1:8080", want: "http://127.0.0.1:8080"},
		{in: "http://127.0.0.1:8080/github", want: "http://127.0.0.1:8080/github"},
		{in: "http://localhost:8080/api/v3", want: "http://localhost:8080/api/v3"},
		{in: " https://ghes.example.com/api/v3 ", want: "https://ghes.example.com/api/v3"},
		{in: "http://ghes.example.com", wantErr: true},
		{in: "ghes.example.com", wantErr: true},
		{in: "https://u:p@ghes.example.com", wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			u, err := httpx.GitHubAPIBase(tc.in)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("GitHubAPIBase(%q) = %v, want an error", tc.in, u)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := u.String(); got != tc.want {
				t.Errorf("GitHubAPIBase(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
