// Package tooken is a fake Tooken API (../shared/providers.md, "Tooken"):
// Bearer admin keys with scopes, POST/GET/DELETE /tokens, GET /tokens/{id},
// POST /tokens/{id}/rotate, paging and name filters, rate-limit headers,
// the documented error body, and the faults of package fake.
package tooken

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tokenmint/tokenmint/internal/fake"
)

// Scopes is Tooken's documented scope list.
var Scopes = []string{"tokens:read", "tokens:write", "tokens:revoke", "tokens:rotate", "audit:read", "webhooks:read", "webhooks:write"}

// Server is a fake Tooken API mounted at /v1.
type Server struct {
	*fake.Server
	// IDFunc makes token IDs (tests inject hostile IDs). Default tok_<hex>.
	IDFunc func() string
	// NameFunc, when set, rewrites the stored name (hostile names).
	NameFunc func(string) string

	mu        sync.Mutex
	keys      map[string][]string // admin key → scopes
	limit     int
	remaining int
	window    time.Time
}

// AdminScopes is every scope: a key that can do everything.
var AdminScopes = Scopes

// New returns a fake with one admin key holding scopes (AdminScopes when nil).
func New(adminKey string, scopes []string) *Server {
	if scopes == nil {
		scopes = AdminScopes
	}
	s := &Server{Server: fake.NewServer(), keys: map[string][]string{adminKey: scopes}, limit: 1000}
	s.IDFunc = func() string { return "tok_" + fake.RandomHex(8) }
	s.Handle("POST /v1/tokens", s.create)
	s.Handle("GET /v1/tokens", s.list)
	s.Handle("GET /v1/tokens/{id}", s.get)
	s.Handle("DELETE /v1/tokens/{id}", s.revoke)
	s.Handle("POST /v1/tokens/{id}/rotate", s.rotate)
	return s
}

// AddKey registers another admin key.
func (s *Server) AddKey(key string, scopes []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[key] = scopes
}

type tokenJSON struct {
	ID         string   `json:"id"`
	Token      string   `json:"token,omitempty"`
	Name       string   `json:"name"`
	Scopes     []string `json:"scopes"`
	Status     string   `json:"status"`
	CreatedAt  string   `json:"created_at"`
	ExpiresAt  *string  `json:"expires_at"`
	LastUsedAt *string  `json:"last_used_at"`
	CreatedBy  string   `json:"created_by"`
}

func (s *Server) view(r fake.Record, withSecret bool) tokenJSON {
	t := tokenJSON{ID: r.ID, Name: r.Name, Scopes: r.Scopes, Status: "active", CreatedAt: r.CreatedAt.Format(time.RFC3339), CreatedBy: "fake-admin"}
	if t.Scopes == nil {
		t.Scopes = []string{}
	}
	if !r.ExpiresAt.IsZero() {
		e := r.ExpiresAt.UTC().Format(time.RFC3339)
		t.ExpiresAt = &e
		if !s.Store.Now().Before(r.ExpiresAt) {
			t.Status = "expired"
		}
	}
	if r.Revoked {
		t.Status = "revoked"
	}
	if withSecret {
		t.Token = r.Secret
	}
	return t
}

func (s *Server) fail(w http.ResponseWriter, status int, code, msg string) {
	fake.JSON(w, status, map[string]any{"error": code, "message": msg, "status": status})
}

// auth checks the Bearer key and scope and sets rate-limit headers. It
// returns false after answering.
func (s *Server) auth(w http.ResponseWriter, r *http.Request, scope string) bool {
	s.mu.Lock()
	now := s.Store.Now()
	if now.After(s.window) {
		s.window = now.Truncate(time.Minute).Add(time.Minute)
		s.remaining = s.limit
	}
	over := s.remaining <= 0
	if !over {
		s.remaining--
	}
	w.Header().Set("X-RateLimit-Limit", strconv.Itoa(s.limit))
	w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(max(s.remaining, 0)))
	w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(s.window.Unix(), 10))
	scopes, ok := s.keys[fake.BearerToken(r)]
	s.mu.Unlock()
	if over {
		s.fail(w, http.StatusTooManyRequests, "rate_limited", "Rate limit exceeded")
		return false
	}
	if !ok {
		s.fail(w, http.StatusUnauthorized, "unauthorized", "Invalid or missing API key")
		return false
	}
	if !slices.Contains(scopes, scope) {
		s.fail(w, http.StatusForbidden, "forbidden", "API key lacks the "+scope+" scope")
		return false
	}
	return true
}

// SetRateLimit sets the per-minute limit (tests of 429 without faults).
func (s *Server) SetRateLimit(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limit, s.remaining = n, n
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	if !s.auth(w, r, "tokens:write") {
		return
	}
	var body struct {
		Name      string   `json:"name"`
		Scopes    []string `json:"scopes"`
		ExpiresAt *string  `json:"expires_at"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&body); err != nil {
		s.fail(w, http.StatusBadRequest, "bad_request", "Invalid JSON body")
		return
	}
	if body.Name == "" || len(body.Name) > 100 {
		s.fail(w, http.StatusBadRequest, "bad_request", "name must be 1 to 100 characters")
		return
	}
	if len(body.Scopes) == 0 {
		s.fail(w, http.StatusBadRequest, "bad_request", "at least one scope is required")
		return
	}
	for _, sc := range body.Scopes {
		if !slices.Contains(Scopes, sc) {
			s.fail(w, http.StatusBadRequest, "bad_request", "unknown scope "+sc)
			return
		}
	}
	var exp time.Time
	if body.ExpiresAt != nil {
		t, err := time.Parse(time.RFC3339, *body.ExpiresAt)
		if err != nil || !t.After(s.Store.Now()) {
			s.fail(w, http.StatusUnprocessableEntity, "unprocessable_entity", "expires_at must be an RFC 3339 date in the future")
			return
		}
		exp = t.UTC()
	}
	name := body.Name
	if s.NameFunc != nil {
		name = s.NameFunc(name)
	}
	if len(s.Store.FindName(name)) > 0 {
		s.fail(w, http.StatusConflict, "conflict", "A token with this name already exists")
		return
	}
	rec := s.Store.Add(fake.Record{
		ID: s.IDFunc(), Name: name, Secret: "tok_live_" + fake.RandomHex(16),
		Scopes: body.Scopes, ExpiresAt: exp, CreatedAt: s.Store.Now().UTC().Truncate(time.Second),
	})
	fake.JSON(w, http.StatusCreated, s.view(rec, true))
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	if !s.auth(w, r, "tokens:read") {
		return
	}
	q := r.URL.Query()
	page, perPage := 1, 25
	if v, err := strconv.Atoi(q.Get("page")); err == nil && v > 0 {
		page = v
	}
	if v, err := strconv.Atoi(q.Get("per_page")); err == nil && v > 0 {
		perPage = min(v, 100)
	}
	var match []tokenJSON
	for _, rec := range s.Store.All() {
		t := s.view(rec, false)
		if st := q.Get("status"); st != "" && t.Status != st {
			continue
		}
		if n := q.Get("name"); n != "" && !strings.Contains(strings.ToLower(rec.Name), strings.ToLower(n)) {
			continue
		}
		match = append(match, t)
	}
	start := min((page-1)*perPage, len(match))
	end := min(start+perPage, len(match))
	data := match[start:end]
	if data == nil {
		data = []tokenJSON{}
	}
	fake.JSON(w, http.StatusOK, map[string]any{"data": data, "meta": map[string]int{"page": page, "per_page": perPage, "total": len(match)}})
}

func (s *Server) get(w http.ResponseWriter, r *http.Request) {
	if !s.auth(w, r, "tokens:read") {
		return
	}
	rec, ok := s.Store.Get(r.PathValue("id"))
	if !ok {
		s.fail(w, http.StatusNotFound, "not_found", "Token not found")
		return
	}
	fake.JSON(w, http.StatusOK, s.view(rec, false))
}

func (s *Server) revoke(w http.ResponseWriter, r *http.Request) {
	if !s.auth(w, r, "tokens:revoke") {
		return
	}
	if !s.Store.Revoke(r.PathValue("id")) {
		s.fail(w, http.StatusNotFound, "not_found", "Token not found")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) rotate(w http.ResponseWriter, r *http.Request) {
	if !s.auth(w, r, "tokens:rotate") {
		return
	}
	secret := "tok_live_" + fake.RandomHex(16)
	rec, ok := s.Store.Update(r.PathValue("id"), func(rec *fake.Record) {
		if !rec.Revoked {
			rec.Secret = secret
		}
	})
	if !ok || rec.Revoked {
		s.fail(w, http.StatusNotFound, "not_found", "Token not found")
		return
	}
	fake.JSON(w, http.StatusOK, s.view(rec, true))
}

// String describes the fake (for logs).
func (s *Server) String() string { return fmt.Sprintf("fake tooken (%d tokens)", len(s.Store.All())) }
