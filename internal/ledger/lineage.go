package ledger

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tokenmint/tokenmint/internal/lazyre"
)

// TimestampLayout is the UTC stamp of rotation names: 20261123T170000Z.
const TimestampLayout = "20060102T150405Z"

// Stamp formats t as a rotation timestamp.
func Stamp(t time.Time) string { return t.UTC().Format(TimestampLayout) }

// Rotation is a rotation's exact identity: where its secret lives. Two
// rotations with different identities never share a default prefix.
type Rotation struct {
	// Repositories (owner/repo) of repository or environment secrets;
	// empty for an organization secret.
	Repositories []string
	// Org of an organization secret.
	Org         string
	SecretType  string // actions, dependabot, codespaces
	Environment string
	SecretName  string
}

// identity encodes r without ambiguity: each field length-prefixed, the
// repositories sorted, so different identities never encode alike.
func (r Rotation) identity() string {
	repos := slices.Clone(r.Repositories)
	for i := range repos {
		repos[i] = strings.ToLower(strings.Trim(strings.TrimSpace(repos[i]), "/"))
	}
	slices.Sort(repos)
	repos = slices.Compact(repos)
	var b strings.Builder
	field := func(s string) {
		b.WriteString(strconv.Itoa(len(s)))
		b.WriteByte(':')
		b.WriteString(s)
		b.WriteByte(';')
	}
	field("v1")
	field(strings.ToLower(r.Org))
	field(strings.ToLower(orDefault(r.SecretType, "actions")))
	field(r.Environment)
	field(r.SecretName)
	field(strconv.Itoa(len(repos)))
	for _, repo := range repos {
		field(repo)
	}
	return b.String()
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// IdentityHashLen is the length of the identity hash in a default
// rotation prefix (40 bits).
const IdentityHashLen = 10

// DefaultPrefix is the rotation's default name prefix:
// tokenmint-<owner>-<repo>-<secret-name>-<hash> (an organization secret:
// tokenmint-<org>-<secret-name>-<hash>; several repositories: the first,
// sorted). The readable part is for people; the hash of the exact
// identity makes the prefix differ between any two rotations, even where
// the readable parts coincide (acme/labs-web and acme-labs/web).
func (r Rotation) DefaultPrefix() string {
	sum := sha256.Sum256([]byte(r.identity()))
	h := hex.EncodeToString(sum[:])[:IdentityHashLen]
	parts := []string{"tokenmint"}
	switch {
	case r.Org != "":
		parts = append(parts, r.Org)
	case len(r.Repositories) > 0:
		repos := slices.Clone(r.Repositories)
		slices.Sort(repos)
		parts = append(parts, strings.ReplaceAll(strings.Trim(repos[0], "/"), "/", "-"))
	}
	if r.Environment != "" {
		parts = append(parts, r.Environment)
	}
	parts = append(parts, r.SecretName, h)
	return joinParts(parts...)
}

var unsafeRun = lazyre.New(`[^A-Za-z0-9._-]+`)

// Sanitize replaces runs of characters outside [A-Za-z0-9._-] by "_" and
// trims "_" at both ends (for derived name parts).
func Sanitize(s string) string {
	return strings.Trim(unsafeRun.ReplaceAllString(s, "_"), "_")
}

// Lineage matches the names a rotation prefix produces.
type Lineage struct {
	prefix string
	re     *regexp.Regexp
}

// NewLineage returns the lineage of a fitted prefix (Ledger.Prefix of a
// rotation ledger).
func NewLineage(prefix string) Lineage {
	return Lineage{prefix: prefix, re: regexp.MustCompile(`^` + regexp.QuoteMeta(prefix) +
		`-([0-9]{8}T[0-9]{6}Z)-[a-z2-7]{13}(?:-(?:[2-9]|[1-9][0-9]))?$`)}
}

// Prefix returns the lineage's prefix.
func (g Lineage) Prefix() string { return g.prefix }

// Match reports whether name is exactly <prefix>-<timestamp>-<nonce>[-n]
// and returns the timestamp.
func (g Lineage) Match(name string) (time.Time, bool) {
	m := g.re.FindStringSubmatch(name)
	if m == nil {
		return time.Time{}, false
	}
	t, err := time.Parse(TimestampLayout, m[1])
	if err != nil || Stamp(t) != m[1] {
		return time.Time{}, false
	}
	return t, true
}
