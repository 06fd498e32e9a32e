package httpx

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ErrBodyTooLarge is returned when a response exceeds the read cap.
var ErrBodyTooLarge = errors.New("response body too large")

// ErrUnreadable marks a 2xx response whose body could not be decoded: the
// server may have acted, so for a create it is as ambiguous as a timeout.
var ErrUnreadable = errors.New("unreadable response body")

// APIError is a non-success HTTP status. Code, Message and RequestID are
// server text: masked and neutralized before they are stored here.
type APIError struct {
	Service    string
	Status     int
	Code       string
	Message    string
	RequestID  string
	RetryAfter time.Duration
	// Date is the server's Date header (zero when absent or unparsable):
	// the server's clock, for clock-skew corrections.
	Date        time.Time
	rateLimited bool
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s answered %d %s", e.Service, e.Status, http.StatusText(e.Status))
	if e.Code != "" && !strings.EqualFold(e.Code, strings.ReplaceAll(http.StatusText(e.Status), " ", "_")) {
		fmt.Fprintf(&b, " (%s)", e.Code)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " [request %s]", e.RequestID)
	}
	return b.String()
}

// RateLimited reports a 429, or a 403 that carries rate-limit signals.
func (e *APIError) RateLimited() bool { return e.rateLimited }

// TransportError is a failure below HTTP status: DNS, connect, TLS, a reset
// or a timeout. Sent is false only when the request certainly never left
// (the dial failed).
type TransportError struct {
	Service string
	Method  string
	Err     error
	Sent    bool
	Timeout bool
	Status  int // set when headers arrived but the body failed
}

func (e *TransportError) Error() string {
	what := "request failed"
	if e.Timeout {
		what = "request timed out"
	}
	return fmt.Sprintf("%s %s %s: %v", e.Service, e.Method, what, e.Err)
}

func (e *TransportError) Unwrap() error { return e.Err }

// StatusOf returns the HTTP status of an *APIError in err's chain, or 0.
func StatusOf(err error) int {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return 0
}

// Ambiguous reports whether a failed create may still have been performed
// by the server: a timeout or reset after sending, a 5xx, or an unreadable
// success body. A 4xx or a refused connection is not ambiguous.
func Ambiguous(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrUnreadable) {
		return true
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status >= 500
	}
	var te *TransportError
	if errors.As(err, &te) {
		return te.Sent
	}
	return false
}

// Retryable reports whether another attempt could succeed (rate limit,
// 5xx or the network), as opposed to a 4xx that will fail again.
func Retryable(err error) bool {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.RateLimited() || ae.Status >= 500
	}
	var te *TransportError
	return errors.As(err, &te) && !errors.Is(te.Err, ErrBodyTooLarge)
}

// DecodeJSON decodes a response body into v; a failure wraps ErrUnreadable.
func DecodeJSON(resp *Response, v any) error {
	if err := json.Unmarshal(resp.Body, v); err != nil {
		return fmt.Errorf("%w: %d bytes of invalid JSON (%s)", ErrUnreadable, len(resp.Body), jsonErrKind(err))
	}
	return nil
}

// jsonErrKind describes a JSON error without quoting the body.
func jsonErrKind(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("field %q has the wrong type", te.Field)
	default:
		return "decode error"
	}
}

// parseErrorBody pulls a code and a message out of the error shapes the
// services use: {"error":"code","message":"…"}, {"error":{"message":…}},
// {"message":"…"} (GitHub), or plain text.
func parseErrorBody(body []byte) (code, msg string) {
	var m map[string]any
	if err := json.Unmarshal(body, &m); err == nil {
		str := func(v any) string {
			s, _ := v.(string)
			return s
		}
		switch e := m["error"].(type) {
		case string:
			code = e
		case map[string]any:
			code = str(e["code"])
			msg = str(e["message"])
		}
		if code == "" {
			code = str(m["code"])
		}
		if msg == "" {
			msg = str(m["message"])
		}
		if msg == "" && code != "" && strings.Contains(code, " ") {
			code, msg = "", code
		}
		return code, msg
	}
	s := strings.TrimSpace(string(body))
	if len(s) > 200 {
		s = s[:200]
	}
	return "", s
}

// stripURL removes the URL from a *url.Error: it says nothing the caller
// does not know, and query strings are no place to print.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
