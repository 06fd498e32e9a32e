package httpx

import (
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// IsLoopback reports whether host is localhost, 127.0.0.0/8 or ::1.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// CheckBaseURL is the one policy for every API base URL tokenmint sends a
// credential to: absolute, https:// (http:// only to a loopback host), no
// credentials, query or fragment. The error says the rule, not the value.
func CheckBaseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return nil, errors.New("must be an absolute URL like https://api.example.com")
	}
	if u.User != nil {
		return nil, errors.New("must not carry credentials in the URL")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("must not have a query or fragment")
	}
	switch {
	case u.Scheme == "https":
		return u, nil
	case u.Scheme == "http" && IsLoopback(u.Hostname()):
		return u, nil
	}
	return nil, errors.New("must use https:// (http:// is allowed only for localhost, 127.0.0.0/8 and ::1)")
}

// SameHostRedirects is an http.Client CheckRedirect for clients whose
// transport adds a credential to every request (oauth2.Transport): it
// follows at most 5 redirects, and only to the same scheme and host, so
// the credential never reaches another host.
func SameHostRedirects(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 || req.URL.Host != via[0].URL.Host || req.URL.Scheme != via[0].URL.Scheme {
		return http.ErrUseLastResponse
	}
	return nil
}

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
