// Package groo is a fake Groo application-token API following the REST
// contract tokenmint assumes (../shared/providers.md, "Groo"): tokens of one
// application under /v1/applications/{client-id}/tokens, authenticated with
// the application's client secret (HTTP Basic client-id:secret) or a
// Personal Access Token (Cookie: session=groo_pat_…), errors as
// {"error":"…"}, and the faults of package fake.
package groo

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/tokenmint/tokenmint/internal/fake"
)

// Route keys (for Push and Count).
const (
	RouteCreate = "POST /v1/applications/{app}/tokens"
	RouteList   = "GET /v1/applications/{app}/tokens"
	RouteRevoke = "DELETE /v1/applications/{app}/tokens/{id}"
)

// MaxNameLen is the name limit the fake enforces.
const MaxNameLen = 100

// Server is a fake Groo accounts API for one application.
type Server struct {
	*fake.Server
	// ClientID is the application's client ID.
	ClientID string
	// IDFunc makes token IDs (tests inject hostile IDs). Default a UUID.
	IDFunc func() string

	mu           sync.Mutex
	secret       string
	pats         map[string]bool // PAT → may manage the application's tokens
	bareList     bool
	deleteStatus int
}

// New returns a fake for application clientID with client secret secret.
func New(clientID, secret string) *Server {
	s := &Server{Server: fake.NewServer(), ClientID: clientID, secret: secret, pats: map[string]bool{}, deleteStatus: http.StatusNoContent}
	s.IDFunc = NewID
	s.Handle(RouteCreate, s.create)
	s.Handle(RouteList, s.list)
	s.Handle(RouteRevoke, s.revoke)
	return s
}

// NewID returns a random UUID-shaped ID.
func NewID() string {
	h := fake.RandomHex(16)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// NewPAT returns a well-formed Personal Access Token.
func NewPAT() string { return "groo_pat_" + fake.RandomHex(32) }

// AddPAT registers a Personal Access Token; allowed=false answers 403.
func (s *Server) AddPAT(pat string, allowed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pats[pat] = allowed
}

// SetBareList makes GET …/tokens answer a bare JSON array instead of
// {"tokens":[…]}.
func (s *Server) SetBareList(bare bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bareList = bare
}

// SetDeleteStatus sets the success status of DELETE: 204 (default, empty
// body) or 200 (body {"success":true}).
func (s *Server) SetDeleteStatus(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deleteStatus = status
}

type tokenJSON struct {
	ID          string  `json:"id"`
	Name        string  `json:"name"`
	Description *string `json:"description"`
	CreatedAt   string  `json:"createdAt"`
	ExpiresAt   *string `json:"expiresAt"`
	LastUsedAt  *string `json:"lastUsedAt"`
}

func view(r fake.Record) tokenJSON {
	t := tokenJSON{ID: r.ID, Name: r.Name, CreatedAt: r.CreatedAt.UTC().Format("2006-01-02T15:04:05.000Z")}
	if r.Description != "" {
		d := r.Description
		t.Description = &d
	}
	if !r.ExpiresAt.IsZero() {
		// JavaScript's toISOString form, as Groo's SDK produces.
		e := r.ExpiresAt.UTC().Format("2006-01-02T15:04:05.000Z")
		t.ExpiresAt = &e
	}
	return t
}

func fail(w http.ResponseWriter, status int, msg string) {
	fake.JSON(w, status, map[string]string{"error": msg})
}

// auth checks the credential and the application in the path. It returns
// false after answering.
func (s *Server) auth(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	secret := s.secret
	s.mu.Unlock()
	app := r.PathValue("app")
	if user, pass, ok := basicAuth(r); ok {
		if user != s.ClientID || pass != secret {
			fail(w, http.StatusUnauthorized, "Invalid client credentials")
			return false
		}
		if app != s.ClientID {
			fail(w, http.StatusForbidden, "Client may only manage its own application")
			return false
		}
		return true
	}
	if c, err := r.Cookie("session"); err == nil {
		s.mu.Lock()
		allowed, known := s.pats[c.Value]
		s.mu.Unlock()
		if !known {
			fail(w, http.StatusUnauthorized, "Invalid session")
			return false
		}
		if app != s.ClientID {
			fail(w, http.StatusNotFound, "Application not found")
			return false
		}
		if !allowed {
			fail(w, http.StatusForbidden, "Missing permission to manage application tokens")
			return false
		}
		return true
	}
	fail(w, http.StatusUnauthorized, "Authentication required")
	return false
}

// basicAuth parses HTTP Basic strictly (base64 of user:pass).
func basicAuth(r *http.Request) (user, pass string, ok bool) {
	h := r.Header.Get("Authorization")
	if len(h) < 6 || !strings.EqualFold(h[:6], "basic ") {
		return "", "", false
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(h[6:]))
	if err != nil {
		return "", "", false
	}
	user, pass, ok = strings.Cut(string(b), ":")
	return user, pass, ok
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	if !s.auth(w, r) {
		return
	}
	var body struct {
		Name        string  `json:"name"`
		Description *string `json:"description"`
		ExpiresAt   *string `json:"expiresAt"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&body); err != nil {
		fail(w, http.StatusBadRequest, "Invalid JSON body")
		return
	}
	if body.Name == "" || len(body.Name) > MaxNameLen {
		fail(w, http.StatusBadRequest, fmt.Sprintf("name must be 1 to %d characters", MaxNameLen))
		return
	}
	var exp time.Time
	if body.ExpiresAt != nil {
		t, err := time.Parse(time.RFC3339, *body.ExpiresAt)
		if err != nil || !t.After(s.Store.Now()) {
			fail(w, http.StatusBadRequest, "expiresAt must be an ISO 8601 date in the future")
			return
		}
		exp = t.UTC()
	}
	desc := ""
	if body.Description != nil {
		desc = *body.Description
	}
	rec := s.Store.Add(fake.Record{
		ID: s.IDFunc(), Name: body.Name, Description: desc, Secret: "groo_" + fake.RandomHex(24),
		ExpiresAt: exp, CreatedAt: s.Store.Now().UTC().Truncate(time.Millisecond),
	})
	fake.JSON(w, http.StatusCreated, map[string]any{"token": view(rec), "secret": rec.Secret})
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	if !s.auth(w, r) {
		return
	}
	out := []tokenJSON{}
	for _, rec := range s.Store.All() {
		if rec.Revoked {
			continue // revoked tokens are deleted
		}
		out = append(out, view(rec))
	}
	s.mu.Lock()
	bare := s.bareList
	s.mu.Unlock()
	if bare {
		fake.JSON(w, http.StatusOK, out)
		return
	}
	fake.JSON(w, http.StatusOK, map[string]any{"tokens": out})
}

func (s *Server) revoke(w http.ResponseWriter, r *http.Request) {
	if !s.auth(w, r) {
		return
	}
	id := r.PathValue("id")
	rec, ok := s.Store.Get(id)
	if !ok || rec.Revoked {
		fail(w, http.StatusNotFound, "Token not found")
		return
	}
	s.Store.Revoke(id)
	s.mu.Lock()
	status := s.deleteStatus
	s.mu.Unlock()
	if status == http.StatusOK {
		fake.JSON(w, http.StatusOK, map[string]bool{"success": true})
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// String describes the fake (for logs).
func (s *Server) String() string { return fmt.Sprintf("fake groo (%d tokens)", len(s.Store.All())) }
