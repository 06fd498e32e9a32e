package httpx

import (
	"net/url"
	"strings"
)

// GitHubAPIBase is the one rule for a GitHub REST base URL (github-api-url,
// and github-app's api-url), used by the App provider, the secret writer
// and the relay: CheckBaseURL's policy, then
//
//   - a base with a path is used as given (https://ghes.example.com/api/v3,
//     or a fake's http://127.0.0.1:PORT/github);
//   - a bare host is GitHub Enterprise Server's REST root only when it is
//     not github.com's API (api.github.com, api.SUBDOMAIN.ghe.com) nor a
//     loopback host: https://ghes.example.com becomes
//     https://ghes.example.com/api/v3.
//
// The result has no trailing slash.
func GitHubAPIBase(raw string) (*url.URL, error) {
	u, err := CheckBaseURL(strings.TrimSpace(raw))
	if err != nil {
		return nil, err
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = strings.TrimRight(u.RawPath, "/")
	host := strings.ToLower(u.Hostname())
	if u.Path == "" && !IsLoopback(host) && !strings.HasPrefix(host, "api.") && !strings.Contains(host, ".api.") {
		u.Path = "/api/v3"
		u.RawPath = ""
	}
	return u, nil
}

// IsGHES reports whether raw is a GitHub Enterprise Server REST base by
// GitHubAPIBase's rule (it ends in /api/v3). Unusable URLs are not.
func IsGHES(raw string) bool {
	u, err := GitHubAPIBase(raw)
	return err == nil && strings.HasSuffix(u.Path, "/api/v3")
}
