package ghoracle_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenmint/tokenmint/internal/fake/ghoracle"
)

// TestLoad_extractedOperations: every description loads, holds the
// operations tokenmint calls and says which it lacks.
func TestLoad_extractedOperations(t *testing.T) {
	t.Parallel()
	descs, err := ghoracle.Load()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{ghoracle.DotCom20221128: 23, ghoracle.DotCom20260310: 23, ghoracle.GHES: 19}
	for name, n := range want {
		ops, err := ghoracle.Operations(name)
		if err != nil {
			t.Fatal(err)
		}
		if len(ops) != n {
			t.Errorf("%s: %d operations, want %d: %v", name, len(ops), n, ops)
		}
		if got := len(ops) + len(descs[name].Absent); got != 23 {
			t.Errorf("%s: %d operations + %d absent, want 23", name, len(ops), len(descs[name].Absent))
		}
	}
	src, _ := descs[ghoracle.GHES].Doc.Info.Extensions["x-tokenmint-source"].(map[string]any)
	if src["package"] != "@octokit/openapi@23.0.2" || src["file"] != "ghes-3.19.json" {
		t.Errorf("GHES source = %v", src)
	}
}

// ok answers like GitHub would for the routes used below.
func ok(body string, status int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	})
}

func TestWrap(t *testing.T) {
	t.Parallel()
	putBody := `{"encrypted_value":"c2VjcmV0","key_id":"1"}`
	cases := []struct {
		name     string
		prefix   string
		method   string
		path     string
		body     string
		answer   http.Handler
		want     int
		wantMsgs []string // each must appear in the answer
	}{
		{name: "valid_repository_secret", method: "PUT", path: "/repos/o/r/actions/secrets/TOK", body: putBody, answer: ok("{}", 201), want: 201},
		{name: "escaped_environment", method: "PUT", path: "/repos/o/r/environments/a%2Fb/secrets/TOK", body: putBody, answer: ok("{}", 201), want: 201},
		{name: "unescaped_environment_matches_no_operation", method: "PUT", path: "/repos/o/r/environments/a/b/secrets/TOK", body: putBody, answer: ok("{}", 201), want: 400,
			wantMsgs: []string{"no operation matches PUT /repos/o/r/environments/a/b/secrets/TOK", ghoracle.DotCom20221128, ghoracle.DotCom20260310}},
		{name: "undeclared_body_field", method: "PUT", path: "/repos/o/r/actions/secrets/TOK", body: `{"encrypted_value":"c2VjcmV0","key_id":"1","name":"TOK"}`, answer: ok("{}", 201), want: 400,
			wantMsgs: []string{`#/paths/~1repos~1{owner}~1{repo}~1actions~1secrets~1{secret_name}/put request`, `property "name" is unsupported`}},
		{name: "dependabot_ids_as_strings_refused_by_2026_03_10_only", method: "PUT", path: "/orgs/o/dependabot/secrets/TOK",
			body: `{"encrypted_value":"c2VjcmV0","key_id":"1","visibility":"selected","selected_repository_ids":["1"]}`, answer: ok("{}", 201), want: 400,
			wantMsgs: []string{ghoracle.DotCom20260310 + "): PUT /orgs/o/dependabot/secrets/TOK: #/paths/~1orgs~1{org}~1dependabot~1secrets~1{secret_name}/put request: value at /selected_repository_ids/0: value must be an integer"}},
		{name: "dependabot_ids_as_integers", method: "PUT", path: "/orgs/o/dependabot/secrets/TOK",
			body: `{"encrypted_value":"c2VjcmV0","key_id":"1","visibility":"selected","selected_repository_ids":[1]}`, answer: ok("{}", 201), want: 201},
		{name: "codespaces_on_ghes_does_not_exist", prefix: "/api/v3", method: "GET", path: "/api/v3/repos/o/r/codespaces/secrets/public-key", answer: ok(`{"key_id":"1","key":"a"}`, 200), want: 400,
			wantMsgs: []string{ghoracle.GHES + " has no GET /repos/{owner}/{repo}/codespaces/secrets/public-key"}},
		{name: "ghes_actions_key", prefix: "/api/v3", method: "GET", path: "/api/v3/repos/o/r/actions/secrets/public-key", answer: ok(`{"key_id":"1","key":"a"}`, 200), want: 200},
		{name: "undeclared_response_field", method: "GET", path: "/repos/o/r/actions/secrets/public-key", answer: ok(`{"key_id":"1","key":"a","secret":"x"}`, 200), want: 502,
			wantMsgs: []string{"response 200", `property "secret" is unsupported`}},
		{name: "undeclared_response_status", method: "PUT", path: "/repos/o/r/actions/secrets/TOK", body: putBody, answer: ok(`{}`, 200), want: 502,
			wantMsgs: []string{"response 200"}},
		{name: "unknown_permission_name", method: "POST", path: "/app/installations/1/access_tokens", body: `{"permissions":{"contnets":"read"}}`, answer: ok(`{}`, 201), want: 400,
			wantMsgs: []string{`value at /permissions: property "contnets" is unsupported`}},
		{name: "dispatch", method: "POST", path: "/repos/o/r/dispatches", body: `{"event_type":"tooken","client_payload":{"a":1}}`, answer: ok(``, 204), want: 204},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := ghoracle.Wrap(tc.prefix, tc.answer)
			var req *http.Request
			if tc.body != "" {
				req = httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
				req.Header.Set("Content-Type", "application/json")
			} else {
				req = httptest.NewRequest(tc.method, tc.path, nil)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Fatalf("status = %d, want %d: %s", rec.Code, tc.want, rec.Body)
			}
			var m map[string]string
			_ = json.Unmarshal(rec.Body.Bytes(), &m)
			for _, s := range tc.wantMsgs {
				if !strings.Contains(m["message"], s) {
					t.Errorf("message does not say %q:\n%s", s, m["message"])
				}
			}
		})
	}
}

// TestWrap_expectInvalid: a request marked invalid must be invalid.
func TestWrap_expectInvalid(t *testing.T) {
	t.Parallel()
	var reached []string
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached = append(reached, r.URL.Path)
		w.WriteHeader(422)
	})
	h := ghoracle.Wrap("", next)
	for _, body := range []string{`{"nope":1}`, `{"encrypted_value":"c2VjcmV0","key_id":"1"}`} {
		req := httptest.NewRequest("PUT", "/repos/o/r/actions/secrets/TOK", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(ghoracle.ExpectInvalid, "1")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		want := 422
		if !strings.Contains(body, "nope") {
			want = 400
		}
		if rec.Code != want {
			t.Errorf("%s: status %d, want %d", body, rec.Code, want)
		}
	}
	if diff := cmp.Diff([]string{"/repos/o/r/actions/secrets/TOK"}, reached); diff != "" {
		t.Errorf("requests the fake saw (-want +got):\n%s", diff)
	}
}
