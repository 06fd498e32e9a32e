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

// SameHostRedirects is the one redirect policy of every HTTP client in
// tokenmint: New applies it to every Client (an injected *http.Client
// included), and the clients built around oauth2.Transport (ghsecret,
// relay) set it themselves. It follows at most 5 redirects, and only to the
// same origin as the first request: same scheme (so never https→http),
// same host, same port. A credential, whichever header carries it
// (Authorization, Hookbase's X-API-Key, a rest profile's own header),
// therefore never leaves the origin of api-url or github-api-url; Go
// itself strips only Authorization-like headers, and only across hosts.
// A refused redirect ends the request with the redirect response itself
// (http.ErrUseLastResponse): Client.Do reports it as an *APIError with the
// 3xx status, a definite answer (nothing was created).
func SameHostRedirects(req *http.Request, via []*http.Request) error {
	if len(via) > 5 || !SameOrigin(req.URL, via[0].URL) {
		return http.ErrUseLastResponse
	}
	return nil
}
