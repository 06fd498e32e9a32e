package relay

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tokenmint/tokenmint/internal/lazyre"
	"github.com/tokenmint/tokenmint/internal/redact"
)

// SignatureHeader carries the HMAC-SHA256 of the raw body.
const SignatureHeader = "X-Tooken-Signature"

// signaturePrefix is the optional prefix the seed's sample uses.
const signaturePrefix = "sha256="

// maxIDLen and maxNameLen bound what is copied into a client_payload.
const (
	maxIDLen   = 128
	maxNameLen = 256
)

var tokenIDRe = lazyre.New(`^[A-Za-z0-9_.:-]+$`)

// Sign returns the X-Tooken-Signature value for body ("sha256=<hex>").
// Tests, load generators and the docs use it; the relay only verifies.
func Sign(body []byte, secret redact.Secret) string {
	m := hmac.New(sha256.New, []byte(secret.Reveal()))
	m.Write(body)
	return signaturePrefix + hex.EncodeToString(m.Sum(nil))
}

// parseSignature decodes a header value: 64 hex digits, bare or after
// "sha256=" (prefix case-insensitive, surrounding spaces ignored). Anything
// else (missing, truncated, too long, not hex) is not a signature.
func parseSignature(h string) ([]byte, bool) {
	h = strings.TrimSpace(h)
	if len(h) >= len(signaturePrefix) && strings.EqualFold(h[:len(signaturePrefix)], signaturePrefix) {
		h = h[len(signaturePrefix):]
	}
	if len(h) != 2*sha256.Size {
		return nil, false
	}
	sig, err := hex.DecodeString(h)
	if err != nil {
		return nil, false
	}
	return sig, true
}

// VerifySignature reports whether header is a valid X-Tooken-Signature of
// body under any of secrets. Each comparison is constant-time
// (hmac.Equal) and every secret is tried, so the time taken does not
// depend on which secret (if any) matched. It returns the decoded
// signature for the replay cache.
func VerifySignature(body []byte, header string, secrets []redact.Secret) ([]byte, bool) {
	sig, ok := parseSignature(header)
	if !ok {
		return nil, false
	}
	match := false
	for _, s := range secrets {
		if s.Empty() {
			continue
		}
		m := hmac.New(sha256.New, []byte(s.Reveal()))
		m.Write(body)
		if hmac.Equal(m.Sum(nil), sig) {
			match = true
		}
	}
	if !match {
		return nil, false
	}
	return sig, true
}

// Envelope is what the relay reads from a verified webhook body.
type Envelope struct {
	// Event is the event name, from "event" (docs) or "type" (seed sample).
	Event string
	// Timestamp is when Tooken sent the event (RFC 3339 or Unix seconds).
	Timestamp time.Time
	// DeliveryID is the envelope's optional top-level "id": when present it
	// is a second replay key.
	DeliveryID string
	// TokenID and TokenName come from data.id and data.name.
	TokenID   string
	TokenName string
}

// EnvelopeError is a body that is signed but malformed (400).
type EnvelopeError struct {
	Field string
	Rule  string
}

func (e *EnvelopeError) Error() string { return fmt.Sprintf("webhook field %q: %s", e.Field, e.Rule) }

type rawEnvelope struct {
	ID        json.RawMessage            `json:"id"`
	Event     json.RawMessage            `json:"event"`
	Type      json.RawMessage            `json:"type"`
	Timestamp json.RawMessage            `json:"timestamp"`
	Data      map[string]json.RawMessage `json:"data"`
}

// ParseEnvelope decodes a webhook body. Known events must carry data.id;
// for unknown events only the name and timestamp are required (they are
// acknowledged and ignored).
func ParseEnvelope(body []byte) (*Envelope, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var raw rawEnvelope
	if err := dec.Decode(&raw); err != nil {
		return nil, &EnvelopeError{Field: "body", Rule: "must be a JSON object"}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, &EnvelopeError{Field: "body", Rule: "must hold one JSON object and nothing after it"}
	}
	env := &Envelope{}
	ev, err := optString(raw.Event, "event")
	if err != nil {
		return nil, err
	}
	typ, err := optString(raw.Type, "type")
	if err != nil {
		return nil, err
	}
	switch {
	case ev != "" && typ != "" && ev != typ:
		return nil, &EnvelopeError{Field: "event", Rule: `"event" and "type" disagree`}
	case ev != "":
		env.Event = ev
	default:
		env.Event = typ
	}
	if env.Event == "" {
		return nil, &EnvelopeError{Field: "event", Rule: `missing: the event name goes in "event" or "type"`}
	}
	if len(env.Event) > maxIDLen || !utf8.ValidString(env.Event) {
		return nil, &EnvelopeError{Field: "event", Rule: fmt.Sprintf("must be valid UTF-8 of at most %d bytes", maxIDLen)}
	}
	env.Timestamp, err = parseTimestamp(raw.Timestamp)
	if err != nil {
		return nil, err
	}
	if len(raw.ID) > 0 && string(raw.ID) != "null" {
		id, err := optString(raw.ID, "id")
		if err != nil {
			return nil, err
		}
		if len(id) > maxIDLen || !utf8.ValidString(id) {
			return nil, &EnvelopeError{Field: "id", Rule: fmt.Sprintf("must be valid UTF-8 of at most %d bytes", maxIDLen)}
		}
		env.DeliveryID = id
	}
	if !knownEvent(env.Event) {
		return env, nil
	}
	if raw.Data == nil {
		return nil, &EnvelopeError{Field: "data", Rule: "missing: must be an object with the token's id"}
	}
	id, err := optString(raw.Data["id"], "data.id")
	if err != nil {
		return nil, err
	}
	if id == "" || len(id) > maxIDLen || !tokenIDRe.MatchString(id) {
		return nil, &EnvelopeError{Field: "data.id", Rule: fmt.Sprintf("must be 1 to %d letters, digits or _ . : -", maxIDLen)}
	}
	env.TokenID = id
	name, err := optString(raw.Data["name"], "data.name")
	if err != nil {
		return nil, err
	}
	if len(name) > maxNameLen || !utf8.ValidString(name) {
		return nil, &EnvelopeError{Field: "data.name", Rule: fmt.Sprintf("must be valid UTF-8 of at most %d bytes", maxNameLen)}
	}
	env.TokenName = name
	return env, nil
}

// optString decodes a JSON string; absent and null give "".
func optString(raw json.RawMessage, field string) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", &EnvelopeError{Field: field, Rule: "must be a string"}
	}
	return s, nil
}

// parseTimestamp accepts an RFC 3339 string, or Unix seconds as a JSON
// number or a string of digits (fractions allowed).
func parseTimestamp(raw json.RawMessage) (time.Time, error) {
	bad := &EnvelopeError{Field: "timestamp", Rule: "must be RFC 3339 or Unix seconds"}
	if len(raw) == 0 || string(raw) == "null" {
		return time.Time{}, &EnvelopeError{Field: "timestamp", Rule: "missing: every webhook must carry its send time"}
	}
	var num string
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return time.Time{}, bad
		}
		s = strings.TrimSpace(s)
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t.UTC(), nil
		}
		num = s
	} else {
		num = string(raw)
	}
	if sec, err := strconv.ParseInt(num, 10, 64); err == nil {
		if sec < 0 || sec > 1<<40 {
			return time.Time{}, bad
		}
		return time.Unix(sec, 0).UTC(), nil
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1<<40 {
		return time.Time{}, bad
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
}
