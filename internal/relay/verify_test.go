package relay

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenmint/tokenmint/internal/redact"
)

func TestVerifySignature(t *testing.T) {
	t.Parallel()
	body := []byte(`{"event":"token.used"}`)
	good := bareSign(body, testSecret1)
	both := []redact.Secret{testSecret1, testSecret2}
	cases := []struct {
		name    string
		header  string
		secrets []redact.Secret
		want    bool
	}{
		{name: "bare_hex", header: good, secrets: both, want: true},
		{name: "prefixed", header: "sha256=" + good, secrets: both, want: true},
		{name: "prefix_any_case_and_spaces", header: "  Sha256=" + strings.ToUpper(good) + " ", secrets: both, want: true},
		{name: "second_secret", header: Sign(body, testSecret2), secrets: both, want: true},
		{name: "only_old_secret_configured", header: Sign(body, testSecret2), secrets: []redact.Secret{testSecret1}, want: false},
		{name: "empty_secret_never_matches", header: Sign(body, ""), secrets: []redact.Secret{""}, want: false},
		{name: "empty", header: "", secrets: both},
		{name: "prefix_only", header: "sha256=", secrets: both},
		{name: "truncated", header: good[:63], secrets: both},
		{name: "truncated_to_half", header: "sha256=" + good[:32], secrets: both},
		{name: "too_long", header: good + "0", secrets: both},
		{name: "other_algorithm_prefix", header: "sha1=" + good, secrets: both},
		{name: "double_prefix", header: "sha256=sha256=" + good, secrets: both},
		{name: "not_hex", header: strings.Repeat("g", 64), secrets: both},
		{name: "one_bit_off", header: flipLast(good), secrets: both},
		{name: "two_signatures", header: good + "," + good, secrets: both},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, got := VerifySignature(body, tc.header, tc.secrets)
			if got != tc.want {
				t.Errorf("VerifySignature = %v, want %v", got, tc.want)
			}
		})
	}
}

func flipLast(h string) string {
	b := []byte(h)
	if b[len(b)-1] == '0' {
		b[len(b)-1] = '1'
	} else {
		b[len(b)-1] = '0'
	}
	return string(b)
}

func TestParseEnvelope(t *testing.T) {
	t.Parallel()
	ts := time.Date(2026, 11, 23, 17, 0, 0, 0, time.UTC)
	cases := []struct {
		name      string
		body      string
		want      *Envelope
		wantField string
	}{
		{
			name: "docs_shape_event_rfc3339",
			body: `{"event":"token.expiring","timestamp":"2026-11-23T17:00:00Z","data":{"id":"tok_1","name":"deploy","scopes":["tokens:read"]}}`,
			want: &Envelope{Event: "token.expiring", Timestamp: ts, TokenID: "tok_1", TokenName: "deploy"},
		},
		{
			name: "seed_shape_type_unix_number",
			body: `{"type":"token.rotated","timestamp":1795453200,"data":{"id":"tok_2"}}`,
			want: &Envelope{Event: "token.rotated", Timestamp: ts, TokenID: "tok_2"},
		},
		{
			name: "unix_seconds_as_string",
			body: `{"type":"token.rotated","timestamp":"1795453200","data":{"id":"tok_2"}}`,
			want: &Envelope{Event: "token.rotated", Timestamp: ts, TokenID: "tok_2"},
		},
		{
			name: "unix_seconds_with_fraction",
			body: `{"type":"token.rotated","timestamp":1795453200.5,"data":{"id":"tok_2"}}`,
			want: &Envelope{Event: "token.rotated", Timestamp: ts.Add(500 * time.Millisecond), TokenID: "tok_2"},
		},
		{
			name: "rfc3339_with_offset",
			body: `{"event":"token.used","timestamp":"2026-11-23T18:00:00+01:00","data":{"id":"tok_3"}}`,
			want: &Envelope{Event: "token.used", Timestamp: ts, TokenID: "tok_3"},
		},
		{
			name: "event_and_type_agree",
			body: `{"event":"token.used","type":"token.used","timestamp":1795453200,"data":{"id":"tok_3"}}`,
			want: &Envelope{Event: "token.used", Timestamp: ts, TokenID: "tok_3"},
		},
		{
			name: "delivery_id",
			body: `{"id":"evt_9","event":"token.used","timestamp":1795453200,"data":{"id":"tok_3"}}`,
			want: &Envelope{Event: "token.used", Timestamp: ts, TokenID: "tok_3", DeliveryID: "evt_9"},
		},
		{
			name: "unknown_event_needs_no_data",
			body: `{"event":"webhook.ping","timestamp":1795453200}`,
			want: &Envelope{Event: "webhook.ping", Timestamp: ts},
		},
		{name: "event_and_type_disagree", body: `{"event":"token.used","type":"token.revoked","timestamp":1,"data":{"id":"t"}}`, wantField: "event"},
		{name: "no_event", body: `{"timestamp":1795453200,"data":{"id":"t"}}`, wantField: "event"},
		{name: "event_not_string", body: `{"event":5,"timestamp":1795453200}`, wantField: "event"},
		{name: "no_timestamp", body: `{"event":"token.used","data":{"id":"t"}}`, wantField: "timestamp"},
		{name: "bad_timestamp", body: `{"event":"token.used","timestamp":"last tuesday","data":{"id":"t"}}`, wantField: "timestamp"},
		{name: "negative_timestamp", body: `{"event":"token.used","timestamp":-5,"data":{"id":"t"}}`, wantField: "timestamp"},
		{name: "huge_timestamp", body: `{"event":"token.used","timestamp":1e300,"data":{"id":"t"}}`, wantField: "timestamp"},
		{name: "timestamp_object", body: `{"event":"token.used","timestamp":{},"data":{"id":"t"}}`, wantField: "timestamp"},
		{name: "no_data", body: `{"event":"token.used","timestamp":1795453200}`, wantField: "data"},
		{name: "data_not_object", body: `{"event":"token.used","timestamp":1795453200,"data":[1]}`, wantField: "body"},
		{name: "empty_token_id", body: `{"event":"token.used","timestamp":1795453200,"data":{"id":""}}`, wantField: "data.id"},
		{name: "token_id_with_newline", body: `{"event":"token.used","timestamp":1795453200,"data":{"id":"tok\n::add-mask::x"}}`, wantField: "data.id"},
		{name: "token_id_number", body: `{"event":"token.used","timestamp":1795453200,"data":{"id":5}}`, wantField: "data.id"},
		{name: "name_too_long", body: `{"event":"token.used","timestamp":1795453200,"data":{"id":"t","name":"` + strings.Repeat("n", 300) + `"}}`, wantField: "data.name"},
		{name: "trailing_data", body: `{"event":"token.used","timestamp":1795453200,"data":{"id":"t"}} {}`, wantField: "body"},
		{name: "array", body: `[]`, wantField: "body"},
		{name: "empty", body: ``, wantField: "body"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseEnvelope([]byte(tc.body))
			if tc.wantField != "" {
				var ee *EnvelopeError
				if !errors.As(err, &ee) {
					t.Fatalf("error = %v, want an *EnvelopeError", err)
				}
				if ee.Field != tc.wantField {
					t.Errorf("field = %q, want %q (%v)", ee.Field, tc.wantField, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseEnvelope: %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzVerifySignature checks that verification and envelope parsing never
// panic, and that an accepted signature is the HMAC-SHA256 of the body
// under one of the secrets.
func FuzzVerifySignature(f *testing.F) {
	body := []byte(`{"event":"token.expiring","timestamp":"2026-11-23T17:00:00Z","data":{"id":"tok_1","name":"n"}}`)
	f.Add(body, Sign(body, testSecret1), testSecret1, testSecret2)
	f.Add(body, bareSign(body, testSecret2), testSecret1, testSecret2)
	f.Add(body, "sha256=", "", "x")
	f.Add([]byte(`{"type":"token.used","timestamp":1795453200,"data":{"id":"t"}}`), "SHA256="+strings.Repeat("A", 64), "k", "")
	f.Add([]byte(`{"timestamp":1e400}`), strings.Repeat("0", 63), "a", "b")
	f.Add([]byte{0xff, 0xfe, '{'}, "sha256=zz", "a", "a")
	f.Fuzz(func(t *testing.T, body []byte, header, secA, secB string) {
		secrets := []redact.Secret{redact.Secret(secA), redact.Secret(secB)}
		sig, ok := VerifySignature(body, header, secrets)
		env, perr := ParseEnvelope(body)
		if perr == nil && env.Event == "" {
			t.Fatalf("ParseEnvelope accepted a body without an event")
		}
		if perr == nil && knownEvent(env.Event) && !tokenIDRe.MatchString(env.TokenID) {
			t.Fatalf("ParseEnvelope accepted a bad token id %q", env.TokenID)
		}
		if !ok {
			return
		}
		matched := false
		for _, s := range []string{secA, secB} {
			if s == "" {
				continue
			}
			m := hmac.New(sha256.New, []byte(s))
			m.Write(body)
			if hmac.Equal(m.Sum(nil), sig) {
				matched = true
			}
		}
		if !matched {
			t.Fatalf("accepted signature %s matches no secret", hex.EncodeToString(sig))
		}
		// The header must actually spell that signature.
		h := strings.ToLower(strings.TrimSpace(header))
		if strings.TrimPrefix(h, "sha256=") != hex.EncodeToString(sig) {
			t.Fatalf("accepted header does not spell the signature")
		}
	})
}

// FuzzParseEnvelope checks that any body parses or fails cleanly, and that
// an accepted envelope's fields respect the bounds the payload relies on.
func FuzzParseEnvelope(f *testing.F) {
	f.Add([]byte(`{"event":"token.expiring","timestamp":"2026-11-23T17:00:00Z","data":{"id":"tok_1","name":"n"}}`))
	f.Add([]byte(`{"type":"token.rotated","timestamp":1795453200.25,"data":{"id":"tok_2"}}`))
	f.Add([]byte(`{"id":"evt","event":"x","timestamp":"1795453200"}`))
	f.Add([]byte(`{"event":"token.used","timestamp":null,"data":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		env, err := ParseEnvelope(body)
		if err != nil {
			var ee *EnvelopeError
			if !errors.As(err, &ee) {
				t.Fatalf("error %T is not an *EnvelopeError", err)
			}
			return
		}
		if env.Event == "" || len(env.Event) > maxIDLen || len(env.TokenName) > maxNameLen || len(env.DeliveryID) > maxIDLen {
			t.Fatalf("envelope out of bounds: %+v", env)
		}
		if env.Timestamp.IsZero() {
			t.Fatalf("accepted an envelope without a timestamp")
		}
	})
}
