// Package ledger owns token identity: which tokens a step run (or a CLI
// call) may touch. Everything that decides "is this token ours" lives
// here; the action's main and post phases, rotation and the CLI ask it and
// never match names on their own.
//
// # Invariants
//
//  1. One nonce per step run or CLI call: at least 64 bits from crypto/rand,
//     written as 13 lowercase base32 characters, drawn once (New) and saved
//     in state before the first request.
//  2. Every name sent ends in that nonce, whole: <prefix>-<nonce>, then
//     <prefix>-<nonce>-2, -3 … for retries (rotation: <prefix>-<UTC
//     timestamp>-<nonce>[-n]). Only the readable prefix is shortened (with a
//     hash) to fit the provider's name limit; a limit too small to hold the
//     nonce is a configuration error (ErrNameLimit), never a panic.
//  3. A name enters the ledger, and the ledger is saved, BEFORE the name is
//     sent. No name is ever sent twice: every create attempt takes the
//     ledger's next name.
//  4. Each name has an outcome: pending (sent; unknown whether the service
//     created a token), minted (the service answered with this token ID),
//     refused (409 on its first and only send: the name was already taken,
//     so whatever holds it is someone else's), rejected (a definite 4xx:
//     nothing was created).
//  5. Owns(t) is true only for a token whose exact name (byte for byte:
//     never a prefix, substring or case-insensitive match) is a pending or
//     minted name of this ledger. Refused and rejected names are never ours.
//  6. Clean-ups revoke only owned tokens: Sweep revokes live tokens whose
//     exact name is a pending name, sparing every minted ID. Pending names
//     stay pending in state after main's sweep (a create held past the
//     timeout may commit later), so the post phase sweeps them again, even
//     when a later attempt succeeded.
//  7. When a sweep cannot be confirmed (the provider cannot list tokens at
//     all, the listing was refused, or the lookup or revocation failed) the
//     caller gets a *CleanupError naming the token names and the admin-key
//     scope that would let it clean up, and must print it as a warning.
//  8. Rotation lineage: a rotation's default prefix is an injective function
//     of its identity (Rotation); its predecessors are found by the exact
//     pattern <prefix>-<timestamp>-<nonce>[-n] (Lineage.Match), and only
//     those strictly older than this rotation's timestamp are retired.
package ledger

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/tokenmint/tokenmint/internal/provider"
)

// NonceLen is the length of a nonce: 64 random bits in base32.
const NonceLen = 13

// MaxAttempts bounds the suffixed names one ledger hands out (-2 … -99),
// so the room reserved for the suffix is always enough.
const MaxAttempts = 99

// suffixRoom is len("-99"): room kept for a retry's suffix.
const suffixRoom = 3

// MinPrefixLen is the shortest readable prefix a fitted name keeps.
const MinPrefixLen = 1

// MinNameLen is the smallest provider name limit that holds a prefix
// character, the nonce and a retry suffix.
const MinNameLen = MinPrefixLen + 1 + NonceLen + suffixRoom

// ErrNameLimit is returned for a provider name limit too small to hold the
// nonce (see MinNameLen).
var ErrNameLimit = errors.New("the token name limit is too small")

var nonceEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewNonce draws a nonce: 8 bytes from crypto/rand, lowercase base32.
func NewNonce() (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("failed to draw a nonce: %w", err)
	}
	return nonceEncoding.EncodeToString(b), nil
}

// ValidNonce reports whether s has a nonce's shape.
func ValidNonce(s string) bool {
	if len(s) != NonceLen {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < '2' || r > '7') {
			return false
		}
	}
	return true
}

// CheckLimit reports whether a provider name limit (0: none) can hold a
// name with a nonce.
func CheckLimit(maxNameLen int, stamp string) error {
	if maxNameLen <= 0 {
		return nil
	}
	need := MinNameLen
	if stamp != "" {
		need += 1 + len(stamp)
	}
	if maxNameLen < need {
		return fmt.Errorf("%w: %d characters, but a token name needs at least %d (a readable prefix, %s-character random part%s and a retry suffix)",
			ErrNameLimit, maxNameLen, need, strconv.Itoa(NonceLen), stampNote(stamp))
	}
	return nil
}

func stampNote(stamp string) string {
	if stamp == "" {
		return ""
	}
	return ", the rotation timestamp"
}

// Fit shortens s to max characters (0: no limit): when longer, the head is
// kept and the tail replaced by "-" and 8 hex characters of the whole
// string's SHA-256, so distinct long strings stay distinct and the result
// is deterministic. max must be at least 1.
func Fit(s string, max int) string {
	if max <= 0 || len(s) <= max {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	h := hex.EncodeToString(sum[:])[:8]
	keep := max - len(h) - 1
	if keep < 1 {
		return h[:min(max, len(h))]
	}
	return strings.TrimRight(s[:keep], "-") + "-" + h
}

// Outcome is what became of a name that was sent.
type Outcome string

// Outcomes (see invariant 4).
const (
	Pending  Outcome = "pending"
	Minted   Outcome = "minted"
	Refused  Outcome = "refused"
	Rejected Outcome = "rejected"
)

// Entry is one name of the ledger.
type Entry struct {
	Name    string  `json:"name"`
	Outcome Outcome `json:"outcome"`
	ID      string  `json:"id,omitempty"`
}

// Options make a ledger.
type Options struct {
	// Prefix is the readable name prefix (the name input or a default).
	Prefix string
	// Stamp goes between prefix and nonce (rotation: the UTC timestamp).
	Stamp string
	// Nonce is drawn with NewNonce when empty.
	Nonce string
	// MaxNameLen is the provider's name limit (0: none).
	MaxNameLen int
	// Save persists Encode() (action state). It is called before every
	// name is sent and after every outcome; an error stops the mint.
	Save func(encoded string) error
}

// Ledger is a step run's names and their outcomes. It is safe for
// concurrent use.
type Ledger struct {
	mu      sync.Mutex
	nonce   string
	prefix  string // fitted
	stamp   string
	max     int
	entries []Entry
	save    func(string) error
	// problem is the last sweep's unconfirmed clean-up (nil: none).
	problem *CleanupError
}

// New makes a ledger: draws the nonce and fits the prefix.
func New(o Options) (*Ledger, error) {
	if err := CheckLimit(o.MaxNameLen, o.Stamp); err != nil {
		return nil, err
	}
	nonce := o.Nonce
	if nonce == "" {
		var err error
		if nonce, err = NewNonce(); err != nil {
			return nil, err
		}
	} else if !ValidNonce(nonce) {
		return nil, fmt.Errorf("failed to make a ledger: %q is not a nonce", nonce)
	}
	prefix := strings.TrimSpace(o.Prefix)
	if prefix == "" {
		prefix = "tokenmint"
	}
	if o.MaxNameLen > 0 {
		room := o.MaxNameLen - 1 - NonceLen - suffixRoom
		if o.Stamp != "" {
			room -= 1 + len(o.Stamp)
		}
		prefix = Fit(prefix, room)
	}
	return &Ledger{nonce: nonce, prefix: prefix, stamp: o.Stamp, max: o.MaxNameLen, save: o.Save}, nil
}

// Nonce returns the ledger's nonce.
func (l *Ledger) Nonce() string { return l.nonce }

// Prefix returns the fitted readable prefix.
func (l *Ledger) Prefix() string { return l.prefix }

// Name returns the name of attempt n (1: <prefix>[-<stamp>]-<nonce>; n ≥ 2
// adds -n).
func (l *Ledger) Name(n int) string {
	s := l.prefix
	if l.stamp != "" {
		s += "-" + l.stamp
	}
	s += "-" + l.nonce
	if n >= 2 {
		s += "-" + strconv.Itoa(n)
	}
	return s
}

// Next records the next attempt's name as pending, saves the ledger and
// returns the name. Only then may it be sent.
func (l *Ledger) Next() (string, error) {
	l.mu.Lock()
	n := len(l.entries) + 1
	if n > MaxAttempts {
		l.mu.Unlock()
		return "", fmt.Errorf("failed to pick a token name: more than %d attempts", MaxAttempts)
	}
	name := l.Name(n)
	l.entries = append(l.entries, Entry{Name: name, Outcome: Pending})
	enc := l.encodeLocked()
	l.mu.Unlock()
	if err := l.persist(enc); err != nil {
		return "", err
	}
	return name, nil
}

func (l *Ledger) persist(enc string) error {
	if l.save == nil {
		return nil
	}
	if err := l.save(enc); err != nil {
		return fmt.Errorf("failed to save the token ledger: %w", err)
	}
	return nil
}

// mark sets name's outcome (and ID) and saves.
func (l *Ledger) mark(name string, o Outcome, id string) error {
	l.mu.Lock()
	found := false
	for i := range l.entries {
		if l.entries[i].Name == name {
			l.entries[i].Outcome, l.entries[i].ID = o, id
			found = true
		}
	}
	enc := l.encodeLocked()
	l.mu.Unlock()
	if !found {
		return fmt.Errorf("failed to record the outcome of %q: not a name of this ledger", name)
	}
	return l.persist(enc)
}

// MarkMinted records that name was created as token id.
func (l *Ledger) MarkMinted(name, id string) error { return l.mark(name, Minted, id) }

// Entries returns a copy of the entries in the order sent.
func (l *Ledger) Entries() []Entry {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Entry(nil), l.entries...)
}

// Names returns every name sent, in order.
func (l *Ledger) Names() []string {
	var out []string
	for _, e := range l.Entries() {
		out = append(out, e.Name)
	}
	return out
}

// Pending returns the names whose outcome is unknown.
func (l *Ledger) Pending() []string { return l.with(Pending) }

// MintedIDs returns the token IDs of minted names.
func (l *Ledger) MintedIDs() []string {
	var out []string
	for _, e := range l.Entries() {
		if e.Outcome == Minted && e.ID != "" {
			out = append(out, e.ID)
		}
	}
	return out
}

func (l *Ledger) with(o Outcome) []string {
	var out []string
	for _, e := range l.Entries() {
		if e.Outcome == o {
			out = append(out, e.Name)
		}
	}
	return out
}

// Empty reports whether nothing that could have created a token was sent
// (no pending or minted name).
func (l *Ledger) Empty() bool { return len(l.Pending()) == 0 && len(l.MintedIDs()) == 0 }

// Owns reports whether t is this ledger's: its exact name is a pending or
// minted name (invariant 5). A minted name owns only its own ID.
func (l *Ledger) Owns(t provider.Token) bool {
	if t.Name == "" {
		return false
	}
	for _, e := range l.Entries() {
		if e.Name != t.Name {
			continue
		}
		switch e.Outcome {
		case Pending:
			return true
		case Minted:
			return t.ID == "" || e.ID == "" || t.ID == e.ID
		}
	}
	return false
}

// Problem returns the last sweep's unconfirmed clean-up, or nil.
func (l *Ledger) Problem() *CleanupError {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.problem
}

type encoded struct {
	V       int     `json:"v"`
	Nonce   string  `json:"nonce"`
	Prefix  string  `json:"prefix"`
	Stamp   string  `json:"stamp,omitempty"`
	Max     int     `json:"max,omitempty"`
	Entries []Entry `json:"names"`
}

// Encode returns the ledger as one line of JSON (no secret: names, IDs,
// outcomes).
func (l *Ledger) Encode() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.encodeLocked()
}

func (l *Ledger) encodeLocked() string {
	b, _ := json.Marshal(encoded{V: 1, Nonce: l.nonce, Prefix: l.prefix, Stamp: l.stamp, Max: l.max, Entries: l.entries})
	return string(b)
}

// Decode reads a ledger saved by Encode (the post phase). An empty string
// is an empty ledger without nonce.
func Decode(s string) (*Ledger, error) {
	if strings.TrimSpace(s) == "" {
		return &Ledger{}, nil
	}
	var e encoded
	if err := json.Unmarshal([]byte(s), &e); err != nil {
		return nil, fmt.Errorf("failed to read the token ledger from state: %w", err)
	}
	if e.V != 1 || !ValidNonce(e.Nonce) {
		return nil, errors.New("failed to read the token ledger from state: unknown format")
	}
	for _, en := range e.Entries {
		switch en.Outcome {
		case Pending, Minted, Refused, Rejected:
		default:
			return nil, fmt.Errorf("failed to read the token ledger from state: unknown outcome %q", en.Outcome)
		}
		if !strings.Contains(en.Name, e.Nonce) {
			return nil, errors.New("failed to read the token ledger from state: a name without the nonce")
		}
	}
	return &Ledger{nonce: e.Nonce, prefix: e.Prefix, stamp: e.Stamp, max: e.Max, entries: e.Entries}, nil
}

// SetSave replaces the persistence hook.
func (l *Ledger) SetSave(save func(string) error) { l.save = save }

// CleanupError is a clean-up that could not be confirmed: the named tokens
// may still be live. Print it as a warning.
type CleanupError struct {
	Provider string
	Names    []string
	// CannotList: the provider cannot list or attribute tokens at all.
	CannotList bool
	// Scope is the admin-key scope or permission that would let tokenmint
	// list (and so clean up); may be empty.
	Scope string
	Err   error
}

func (e *CleanupError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "failed to confirm the clean-up of %s token(s) named %s that a lost create may have made", e.Provider, strings.Join(e.Names, ", "))
	if e.CannotList {
		b.WriteString(": this provider cannot look tokens up by name")
		if e.Scope != "" {
			fmt.Fprintf(&b, " (%s)", e.Scope)
		}
		b.WriteString("; if such a token exists, revoke it by hand or let it expire")
		return b.String()
	}
	fmt.Fprintf(&b, ": %v", e.Err)
	if e.Scope != "" {
		fmt.Fprintf(&b, "; an admin key with %s would let tokenmint find and revoke them", e.Scope)
	}
	return b.String()
}

func (e *CleanupError) Unwrap() error { return e.Err }

// SweepResult is what a sweep did.
type SweepResult struct {
	Revoked []provider.Token // Secret never set
	// Problem is non-nil when some pending name could not be checked.
	Problem *CleanupError
}

// Sweep looks up every pending name by its exact name and revokes the live
// tokens found, sparing minted IDs (invariant 6). Pending names stay
// pending. scope names what the admin key needs to list (for the error).
func (l *Ledger) Sweep(ctx context.Context, p provider.Provider, providerName, scope string) SweepResult {
	var res SweepResult
	keep := map[string]bool{}
	for _, id := range l.MintedIDs() {
		keep[id] = true
	}
	var unconfirmed []string
	var errs []error
	cannot := false
	for _, name := range l.Pending() {
		toks, err := p.List(ctx, name)
		if errors.Is(err, provider.ErrNotSupported) {
			cannot = true
			unconfirmed = append(unconfirmed, name)
			continue
		}
		if err != nil {
			unconfirmed = append(unconfirmed, name)
			errs = append(errs, fmt.Errorf("failed to list tokens: %w", err))
			continue
		}
		failed := false
		for _, t := range toks {
			if t.Revoked || keep[t.ID] || t.Name != name || !l.Owns(t) {
				continue
			}
			t.Secret = ""
			if err := p.Revoke(ctx, t); err != nil {
				failed = true
				errs = append(errs, fmt.Errorf("failed to revoke token %s: %w", t.ID, err))
				continue
			}
			res.Revoked = append(res.Revoked, t)
		}
		if failed {
			unconfirmed = append(unconfirmed, name)
		}
	}
	if len(unconfirmed) > 0 {
		res.Problem = &CleanupError{Provider: providerName, Names: unconfirmed, CannotList: cannot && len(errs) == 0, Scope: scope, Err: errors.Join(errs...)}
		if res.Problem.Err == nil && !res.Problem.CannotList {
			res.Problem.Err = errors.New("lookup failed")
		}
	}
	l.mu.Lock()
	l.problem = res.Problem
	l.mu.Unlock()
	return res
}
