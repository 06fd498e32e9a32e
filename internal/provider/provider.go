// Package provider defines what a token service looks like to tokenmint:
// the Provider interface, the Token it mints and the Spec each service
// package exports (its defaults, limits and input checks). Which tokens a
// step may touch, and the create-safely loop, are package ledger's.
package provider

import (
	"context"
	"errors"
	"time"

	"github.com/tokenmint/tokenmint/internal/httpx"
	"github.com/tokenmint/tokenmint/internal/redact"
)

// Token is a minted (or listed) token. Secret is set only on the answer to
// a create or rotate.
type Token struct {
	ID        string
	Name      string
	Secret    redact.Secret
	Scopes    []string
	CreatedAt time.Time
	ExpiresAt time.Time // zero: the service set no expiry
	// Revoked is true when a listing says the token is no longer usable
	// (revoked or expired); find-by-name skips those.
	Revoked bool
	// Extra carries provider-specific outputs (github-app: installation-id,
	// app-slug). Keys are output names; values are not secrets.
	Extra map[string]string
}

// Expired reports whether the token has an expiry that is past at now.
func (t Token) Expired(now time.Time) bool { return !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt) }

// MintRequest is what to mint.
type MintRequest struct {
	Name        string
	Description string
	Scopes      []string
	TTL         time.Duration
	// TTLGiven is true when the ttl came from the user rather than the
	// default (rest: a ttl the profile cannot send is then an input error).
	TTLGiven bool

	// github-app only.
	Owner        string
	Repositories []string
	Permissions  map[string]string
}

// Provider is one token service, authenticated with the admin credential.
type Provider interface {
	// Mint creates a token. It is not idempotent: callers go through Mint
	// (the package function) to retry safely.
	Mint(ctx context.Context, req MintRequest) (*Token, error)
	// Revoke revokes t (by t.ID; github-app by t.Secret). A token that is
	// already gone (404/410) is success.
	Revoke(ctx context.Context, t Token) error
	// List returns the tokens the admin credential can see. nameHint, when
	// not empty, may be used as a server-side name filter; callers must
	// still match names themselves. ErrNotSupported when the service has
	// no listing.
	List(ctx context.Context, nameHint string) ([]Token, error)
}

// Rotator is a Provider with a native rotate call: same ID, new secret.
type Rotator interface {
	Rotate(ctx context.Context, id string) (*Token, error)
}

// Getter is a Provider that can read one token by ID (never its secret).
type Getter interface {
	Get(ctx context.Context, id string) (*Token, error)
}

// ErrNotFound is returned by Get for an unknown ID.
var ErrNotFound = errors.New("token not found")

// ErrNotSupported is returned by optional operations a service lacks.
var ErrNotSupported = errors.New("not supported by this provider")

// Options configure a provider instance. Secrets arrive as redact.Secret.
type Options struct {
	APIURL   string
	AdminKey redact.Secret
	ClientID string
	// Secrets are the rest profile's declared secrets by name (the
	// provider-secrets input).
	Secrets map[string]redact.Secret
	// ProviderConfig is the rest provider's profile: a path or inline text.
	ProviderConfig string
	// Workspace resolves relative ProviderConfig paths.
	Workspace string
	// HeaderName overrides the auth header where a service accepts two
	// (hookbase: "X-API-Key").
	HeaderName string
	HTTP       *httpx.Client
	// Warnf reports a non-fatal condition (for example a service that set
	// no expiry). May be nil.
	Warnf func(format string, args ...any)
	// Now is the clock (tests). Nil means time.Now.
	Now func() time.Time
}

// Warn calls o.Warnf when set.
func (o Options) Warn(format string, args ...any) {
	if o.Warnf != nil {
		o.Warnf(format, args...)
	}
}

// Clock returns o.Now or time.Now.
func (o Options) Clock() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

// Spec describes a provider to the rest of the program: defaults, limits
// and the checks that run on inputs before any request.
type Spec struct {
	Name          string
	DefaultAPIURL string
	// MaxNameLen is the longest token name the service takes (0: no limit).
	MaxNameLen int
	// ListScope is the admin-key scope (or permission) that lets tokenmint
	// list tokens, named in the warning when a clean-up could not be
	// confirmed (tooken: tokens:read). Empty when there is none to name.
	ListScope string
	// Scopes lists valid scopes; nil means the service has no scopes and
	// passing any is an input error.
	Scopes         []string
	ScopesRequired bool
	// MaxTTL bounds ttl (0: the global 90 days).
	MaxTTL time.Duration
	// Check validates provider-specific inputs without network. It returns
	// *inputerr.Error values (joined).
	Check func(o Options, req MintRequest) error
	// New builds the client. It may read files (a profile) but sends nothing.
	New func(o Options) (Provider, error)
}
