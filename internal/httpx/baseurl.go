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
