// Package hookbase is a fake Hookbase API-keys API (../shared/providers.md,
// "Hookbase"): admin keys (whr_…) sent as "Authorization: Bearer" or
// "X-API-Key", scopes read/write/delete, GET/POST /api/api-keys and
// DELETE /api/api-keys/{id}, with switches for every documented variant:
// the three create-response shapes, the two list shapes, which expiry field
// the server reads (seconds, days, none), and DELETE answering 200
// {"success":true} or 204. Faults come from package fake.
package hookbase

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

// Scopes are Hookbase's key scopes (read and write documented, delete from
// the vendor SDKs and CLI).
var Scopes = []string{"read", "write", "delete"}

// Route keys (for fake.Server.Push and Count).
const (
	RouteList   = "GET /api/api-keys"
	RouteCreate = "POST /api/api-keys"
	RouteDelete = "DELETE /api/api-keys/{id}"
)

// CreateShape is the body a create answers with.
type CreateShape int

// The documented create shapes.
const (
	// CreateDocs: {"apiKey":{…}, "key":"whr_…"} (REST docs).
	CreateDocs CreateShape = iota
	// CreateMCP: {"apiKey":{…, "key":"whr_…"}} (MCP server).
	CreateMCP
	// CreateSDK: {"data":{…, "key":"whr_…"}} (Go SDK).
	CreateSDK
)

func (s CreateShape) String() string {
	return [...]string{"docs", "mcp", "sdk"}[s]
}

// ListShape is the body a list answers with.
type ListShape int

// The documented list shapes.
const (
	ListAPIKeys ListShape = iota // {"apiKeys":[…]} (docs)
	ListData                     // {"data":[…]} (Go SDK)
)

func (s ListShape) String() string { return [...]string{"apiKeys", "data"}[s] }

// ExpiryMode is which expiry field the server honours.
type ExpiryMode int

// The documented expiry behaviours.
const (
	// ExpirySeconds reads expiresIn (seconds) and ignores expiresInDays (Node SDK).
	ExpirySeconds ExpiryMode = iota
	// ExpiryDays reads expiresInDays and ignores expiresIn (REST docs).
	ExpiryDays
	// ExpiryIgnored sets no expiry whatever is sent.
	ExpiryIgnored
)

func (m ExpiryMode) String() string { return [...]string{"seconds", "days", "ignored"}[m] }

// DeleteAnswer is how a successful DELETE answers.
type DeleteAnswer int

// The documented delete answers.
const (
	Delete200 DeleteAnswer = iota // 200 {"success":true}
	Delete204                     // 204, empty body
)

func (d DeleteAnswer) String() string { return [...]string{"200", "204"}[d] }

// Options choose the variants the fake speaks.
type Options struct {
	Create CreateShape
	List   ListShape
	Expiry ExpiryMode
	Delete DeleteAnswer
	// DeleteScope is the scope DELETE needs ("delete" in the vendor's newer
	// API, the default; "write" in the older one).
	DeleteScope string
}

// Server is a fake Hookbase API.
type Server struct {
	*fake.Server

	mu   sync.Mutex
	opts Options
	keys map[string][]string // admin key → scopes
	// Headers records which auth header each request used ("bearer",
	// "x-api-key").
	headers []string
}

// New returns a fake with one admin key holding scopes (all when nil).
func New(adminKey string, scopes []string, o Options) *Server {
	if scopes == nil {
		scopes = Scopes
	}
	if o.DeleteScope == "" {
		o.DeleteScope = "delete"
	}
	s := &Server{Server: fake.NewServer(), opts: o, keys: map[string][]string{adminKey: scopes}}
	s.Handle(RouteList, s.list)
	s.Handle(RouteCreate, s.create)
	s.Handle(RouteDelete, s.remove)
	return s
}

// SetOptions switches variants at run time.
func (s *Server) SetOptions(o Options) {
	if o.DeleteScope == "" {
		o.DeleteScope = "delete"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts = o
}

func (s *Server) options() Options {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opts
}

// AddKey registers another admin key.
func (s *Server) AddKey(key string, scopes []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[key] = scopes
}

// AuthHeaders returns which header each authenticated request used.
func (s *Server) AuthHeaders() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.headers)
}

type keyJSON struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	Prefix     string   `json:"prefix,omitempty"`
	KeyPrefix  string   `json:"keyPrefix,omitempty"`
	Scopes     []string `json:"scopes"`
	CreatedAt  string   `json:"createdAt"`
	LastUsedAt *string  `json:"lastUsedAt"`
	ExpiresAt  *string  `json:"expiresAt"`
	Key        string   `json:"key,omitempty"`
}

func view(r fake.Record, shape CreateShape) keyJSON {
	k := keyJSON{ID: r.ID, Name: r.Name, Scopes: r.Scopes, CreatedAt: r.CreatedAt.UTC().Format(time.RFC3339)}
	if k.Scopes == nil {
		k.Scopes = []string{}
	}
	prefix := r.Secret
	if len(prefix) > 12 {
		prefix = prefix[:12] + "..."
	}
	if shape == CreateSDK {
		k.KeyPrefix = prefix
	} else {
		k.Prefix = prefix
	}
	if !r.ExpiresAt.IsZero() {
		e := r.ExpiresAt.UTC().Format(time.RFC3339)
		k.ExpiresAt = &e
	}
	return k
}

func fail(w http.ResponseWriter, status int, code, msg string) {
	fake.JSON(w, status, map[string]any{"error": http.StatusText(status), "message": msg, "code": code})
}

// auth checks the key and scope and sets rate-limit headers. It returns
// false after answering.
func (s *Server) auth(w http.ResponseWriter, r *http.Request, scope string) bool {
	w.Header().Set("X-RateLimit-Limit", "3000")
	w.Header().Set("X-RateLimit-Remaining", "2999")
	w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(s.Store.Now().Add(time.Minute).Unix(), 10))
	key, how := fake.BearerToken(r), "bearer"
	if key == "" {
		key, how = strings.TrimSpace(r.Header.Get("X-API-Key")), "x-api-key"
	}
	s.mu.Lock()
	scopes, ok := s.keys[key]
	if ok {
		s.headers = append(s.headers, how)
	}
	s.mu.Unlock()
	if !ok && key != "" {
		// Keys minted here authenticate too, with their own scopes.
		for _, rec := range s.Store.Live() {
			if rec.Secret == key {
				scopes, ok = rec.Scopes, true
			}
		}
	}
	if !ok {
		fail(w, http.StatusUnauthorized, "UNAUTHORIZED", "Invalid or missing API key")
		return false
	}
	if !slices.Contains(scopes, scope) {
		fail(w, http.StatusForbidden, "INSUFFICIENT_SCOPE", "This API key does not have the required scope: "+scope)
		return false
	}
	return true
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	if !s.auth(w, r, "write") {
		return
	}
	o := s.options()
	var body struct {
		Name          string   `json:"name"`
		Scopes        []string `json:"scopes"`
		ExpiresIn     *int64   `json:"expiresIn"`
		ExpiresInDays *int64   `json:"expiresInDays"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&body); err != nil {
		fail(w, http.StatusBadRequest, "VALIDATION_ERROR", "Invalid JSON body")
		return
	}
	if body.Name == "" || len(body.Name) > 100 {
		fail(w, http.StatusBadRequest, "VALIDATION_ERROR", "name must be 1 to 100 characters")
		return
	}
	if body.Scopes == nil {
		body.Scopes = []string{"read", "write"}
	}
	for _, sc := range body.Scopes {
		if !slices.Contains(Scopes, sc) {
			fail(w, http.StatusBadRequest, "VALIDATION_ERROR", "Invalid scope "+sc)
			return
		}
	}
	now := s.Store.Now().UTC().Truncate(time.Second)
	var exp time.Time
	switch o.Expiry {
	case ExpirySeconds:
		if body.ExpiresIn != nil {
			if *body.ExpiresIn <= 0 {
				fail(w, http.StatusUnprocessableEntity, "VALIDATION_ERROR", "expiresIn must be a positive number of seconds")
				return
			}
			exp = now.Add(time.Duration(*body.ExpiresIn) * time.Second)
		}
	case ExpiryDays:
		if body.ExpiresInDays != nil {
			if *body.ExpiresInDays <= 0 || *body.ExpiresInDays > 365 {
				fail(w, http.StatusUnprocessableEntity, "VALIDATION_ERROR", "expiresInDays must be 1 to 365")
				return
			}
			exp = now.AddDate(0, 0, int(*body.ExpiresInDays))
		}
	}
	rec := s.Store.Add(fake.Record{
		ID: "key_" + fake.RandomHex(8), Name: body.Name, Secret: "whr_live_" + fake.RandomHex(16),
		Scopes: body.Scopes, ExpiresAt: exp, CreatedAt: now,
	})
	k := view(rec, o.Create)
	switch o.Create {
	case CreateDocs:
		fake.JSON(w, http.StatusCreated, map[string]any{"apiKey": k, "key": rec.Secret})
	case CreateMCP:
		k.Key = rec.Secret
		fake.JSON(w, http.StatusCreated, map[string]any{"apiKey": k})
	case CreateSDK:
		k.Key = rec.Secret
		fake.JSON(w, http.StatusCreated, map[string]any{"data": k})
	}
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	if !s.auth(w, r, "read") {
		return
	}
	o := s.options()
	keys := []keyJSON{}
	for _, rec := range s.Store.All() {
		if rec.Revoked {
			continue // revoked keys are deleted
		}
		keys = append(keys, view(rec, o.Create))
	}
	field := "apiKeys"
	if o.List == ListData {
		field = "data"
	}
	fake.JSON(w, http.StatusOK, map[string]any{field: keys})
}

func (s *Server) remove(w http.ResponseWriter, r *http.Request) {
	o := s.options()
	if !s.auth(w, r, o.DeleteScope) {
		return
	}
	id := r.PathValue("id")
	rec, ok := s.Store.Get(id)
	if !ok || rec.Revoked {
		fail(w, http.StatusNotFound, "NOT_FOUND", "API key not found")
		return
	}
	s.Store.Revoke(id)
	if o.Delete == Delete204 {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	fake.JSON(w, http.StatusOK, map[string]any{"success": true})
}

// String describes the fake (for logs).
func (s *Server) String() string {
	o := s.options()
	return fmt.Sprintf("fake hookbase (create %s, list %s, expiry %s, delete %s; %d keys)", o.Create, o.List, o.Expiry, o.Delete, len(s.Store.All()))
}
