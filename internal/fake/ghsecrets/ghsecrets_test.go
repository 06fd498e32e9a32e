package ghsecrets

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/nacl/box"

	"github.com/tokenmint/tokenmint/internal/fake/ghoracle"
)

const token = "ghp_fake"

func setup(t *testing.T) (*Server, string) {
	t.Helper()
	s := New(token)
	mux := http.NewServeMux()
	s.Register(mux)
	// A GitHub App fake's routes on the same mux must not collide.
	for _, p := range []string{"POST /app/installations/{id}/access_tokens", "GET /repos/{o}/{r}/installation", "GET /orgs/{org}/installation", "GET /users/{u}/installation", "DELETE /installation/token"} {
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	}
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return s, ts.URL
}

func do(t *testing.T, method, url, auth string, body any) (int, []byte) {
	t.Helper()
	return doHeader(t, method, url, auth, body, nil)
}

// doHeader sends a request with extra headers (ghoracle.ExpectInvalid for
// a body GitHub's description refuses, which the fake must refuse too).
func doHeader(t *testing.T, method, url, auth string, body any, header http.Header) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = strings.NewReader(string(b))
	}
	req, _ := http.NewRequest(method, url, r)
	for k, v := range header {
		req.Header[k] = v
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func sealFor(t *testing.T, keyJSON []byte, value string) (string, string) {
	t.Helper()
	var k struct{ KeyID, Key string }
	if err := json.Unmarshal(keyJSON, &struct {
		KeyID *string `json:"key_id"`
		Key   *string `json:"key"`
	}{&k.KeyID, &k.Key}); err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(k.Key)
	var pub [32]byte
	copy(pub[:], raw)
	out, err := box.SealAnonymous(nil, []byte(value), &pub, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k.KeyID, base64.StdEncoding.EncodeToString(out)
}

func TestServer_Put(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		keyPath string
		putPath string
		auth    string
		body    func(keyID, sealed string) map[string]any
		want    []int // statuses of two identical PUTs
		// invalid: GitHub's description refuses the body (the oracle is
		// told to expect that).
		invalid  bool
		validate func(t *testing.T, s *Server)
	}{
		{
			name: "repo_created_then_updated", keyPath: "/repos/acme/a/actions/secrets/public-key", putPath: "/repos/acme/a/actions/secrets/tok",
			body: func(k, v string) map[string]any { return map[string]any{"key_id": k, "encrypted_value": v} },
			want: []int{201, 204},
			validate: func(t *testing.T, s *Server) {
				if got, _ := s.RepoSecret("actions", "acme", "a", "TOK"); got.Value != "v" || got.Writes != 2 {
					t.Errorf("stored %+v", got)
				}
			},
		},
		{
			name: "environment_escaped", keyPath: "/repos/acme/a/environments/a%2Fb%20c/secrets/public-key", putPath: "/repos/acme/a/environments/a%2Fb%20c/secrets/TOK",
			body: func(k, v string) map[string]any { return map[string]any{"key_id": k, "encrypted_value": v} },
			want: []int{201, 204},
			validate: func(t *testing.T, s *Server) {
				if got, ok := s.EnvSecret("acme", "a", "a/b c", "TOK"); !ok || got.Value != "v" {
					t.Errorf("stored %+v", got)
				}
			},
		},
		{
			name: "org_actions_ids_as_strings_refused", keyPath: "/orgs/acme/actions/secrets/public-key", putPath: "/orgs/acme/actions/secrets/TOK",
			body: func(k, v string) map[string]any {
				return map[string]any{"key_id": k, "encrypted_value": v, "visibility": "selected", "selected_repository_ids": []string{"100001"}}
			},
			want: []int{422, 422},
		},
		{
			name: "org_dependabot_ids_as_ints", keyPath: "/orgs/acme/dependabot/secrets/public-key", putPath: "/orgs/acme/dependabot/secrets/TOK",
			body: func(k, v string) map[string]any {
				return map[string]any{"key_id": k, "encrypted_value": v, "visibility": "selected", "selected_repository_ids": []int{100001}}
			},
			want: []int{201, 204},
			validate: func(t *testing.T, s *Server) {
				if got, _ := s.OrgSecret("dependabot", "acme", "TOK"); !cmp.Equal([]int64{100001}, got.SelectedRepositoryIDs) {
					t.Errorf("stored %+v", got)
				}
			},
		},
		{
			// Strings are valid only under API version 2022-11-28 (the
			// 2026-03-10 description refuses them); the fake, like
			// 2022-11-28, takes them.
			name: "org_dependabot_ids_as_strings_2022_11_28_only", keyPath: "/orgs/acme/dependabot/secrets/public-key", putPath: "/orgs/acme/dependabot/secrets/TOK",
			body: func(k, v string) map[string]any {
				return map[string]any{"key_id": k, "encrypted_value": v, "visibility": "selected", "selected_repository_ids": []string{"100001"}}
			},
			invalid: true,
			want:    []int{201, 204},
			validate: func(t *testing.T, s *Server) {
				if got, _ := s.OrgSecret("dependabot", "acme", "TOK"); !cmp.Equal([]int64{100001}, got.SelectedRepositoryIDs) {
					t.Errorf("stored %+v", got)
				}
			},
		},
		{
			name: "org_without_visibility", keyPath: "/orgs/acme/codespaces/secrets/public-key", putPath: "/orgs/acme/codespaces/secrets/TOK",
			body:    func(k, v string) map[string]any { return map[string]any{"key_id": k, "encrypted_value": v} },
			invalid: true,
			want:    []int{422, 422},
		},
		{
			name: "wrong_key_id", keyPath: "/repos/acme/a/dependabot/secrets/public-key", putPath: "/repos/acme/a/dependabot/secrets/TOK",
			body: func(k, v string) map[string]any { return map[string]any{"key_id": k + "0", "encrypted_value": v} },
			want: []int{422, 422},
		},
		{
			name: "sealed_for_another_scope", keyPath: "/repos/acme/a/actions/secrets/public-key", putPath: "/repos/acme/a/codespaces/secrets/TOK",
			body: func(k, v string) map[string]any { return map[string]any{"key_id": k, "encrypted_value": v} },
			want: []int{422, 422},
		},
		{
			name: "unknown_repository", keyPath: "/repos/acme/a/actions/secrets/public-key", putPath: "/repos/acme/nope/actions/secrets/TOK",
			body: func(k, v string) map[string]any { return map[string]any{"key_id": k, "encrypted_value": v} },
			want: []int{404, 404},
		},
		{
			name: "reserved_name", keyPath: "/repos/acme/a/actions/secrets/public-key", putPath: "/repos/acme/a/actions/secrets/GITHUB_X",
			body: func(k, v string) map[string]any { return map[string]any{"key_id": k, "encrypted_value": v} },
			want: []int{422, 422},
		},
		{
			name: "bad_token", keyPath: "/repos/acme/a/actions/secrets/public-key", putPath: "/repos/acme/a/actions/secrets/TOK", auth: "ghp_wrong",
			body: func(k, v string) map[string]any { return map[string]any{"key_id": k, "encrypted_value": v} },
			want: []int{401, 401},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, url := setup(t)
			s.AddRepo("acme", "a")
			st, key := do(t, http.MethodGet, url+tc.keyPath, token, nil)
			if st != http.StatusOK {
				t.Fatalf("key read = %d %s", st, key)
			}
			keyID, sealed := sealFor(t, key, "v")
			auth := token
			if tc.auth != "" {
				auth = tc.auth
			}
			var hdr http.Header
			if tc.invalid {
				hdr = http.Header{ghoracle.ExpectInvalid: {"1"}}
			}
			var got []int
			for range 2 {
				st, _ := doHeader(t, http.MethodPut, url+tc.putPath, auth, tc.body(keyID, sealed), hdr)
				got = append(got, st)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("statuses (-want +got):\n%s", diff)
			}
			if tc.validate != nil {
				tc.validate(t, s)
			}
		})
	}
}

func TestServer_FaultsAndCounts(t *testing.T) {
	t.Parallel()
	s, url := setup(t)
	id := s.AddRepo("acme", "a")
	s.Push(RouteRepo, TooManyRequests(5))
	st, _ := do(t, http.MethodGet, url+"/repos/acme/a", token, nil)
	st2, body := do(t, http.MethodGet, url+"/repos/acme/a", token, nil)
	var repo struct{ ID int64 }
	_ = json.Unmarshal(body, &repo)
	s.Fail(http.MethodGet, "/repos/acme/a/actions/secrets/public-key", http.StatusForbidden)
	st3, _ := do(t, http.MethodGet, url+"/repos/acme/a/actions/secrets/public-key", token, nil)
	teapot, _ := do(t, http.MethodGet, url+"/repos/acme/a/installation", token, nil)
	if diff := cmp.Diff([]int{429, 200, 403, 418}, []int{st, st2, st3, teapot}); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if repo.ID != id {
		t.Errorf("repository ID = %d, want %d", repo.ID, id)
	}
	if diff := cmp.Diff([]string{RouteRepo, RouteRepo, RouteRepoKey}, s.Requests()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"GET", "GET", "GET"}, s.Methods()); diff != "" {
		t.Errorf("methods (-want +got):\n%s", diff)
	}
}
