package config

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tokenmint/tokenmint/internal/ghsecret"
	"github.com/tokenmint/tokenmint/internal/httpx"
	"github.com/tokenmint/tokenmint/internal/inputerr"
	"github.com/tokenmint/tokenmint/internal/lazyre"
	"github.com/tokenmint/tokenmint/internal/ledger"
	"github.com/tokenmint/tokenmint/internal/provider"
	"github.com/tokenmint/tokenmint/internal/provider/all"
	"github.com/tokenmint/tokenmint/internal/provider/githubapp"
	"github.com/tokenmint/tokenmint/internal/provider/rest"
	"github.com/tokenmint/tokenmint/internal/redact"
)

// Limits.
const (
	MaxTTL     = 90 * 24 * time.Hour
	MaxTimeout = 5 * time.Minute
)

// Revoke decisions.
const (
	RevokeAuto   = "auto"
	RevokeAlways = "always"
	RevokeNever  = "never"
)

// Config is the parsed, validated inputs.
type Config struct {
	Provider       string
	Spec           provider.Spec
	AdminKey       redact.Secret
	APIURL         string // resolved: the input or the provider's default
	ClientID       string
	Name           string // resolved: the input or the derived default
	NameGiven      bool
	Description    string
	Scopes         []string
	TTL            time.Duration
	TTLGiven       bool // ttl came from the user, not the default
	Owner          string
	Repositories   []string
	Permissions    map[string]string
	ProviderConfig string
	// ProviderSecrets are the rest profile's secrets (provider-secrets).
	ProviderSecrets map[string]redact.Secret
	// ProfileState is the compiled rest profile (one line of JSON, no
	// secret): what main saves in state, so post never rereads the
	// workspace. Empty for other providers.
	ProfileState  string
	AuthHeader    string
	ExportEnv     string
	Revoke        string
	RevokeFailure string
	Timeout       time.Duration

	GitHubToken                redact.Secret
	GitHubAPIURL               string
	SecretName                 string
	SecretType                 string
	SecretRepositories         []string
	SecretEnvironment          string
	SecretOrg                  string
	SecretVisibility           string
	SecretSelectedRepositories []string
	PreviousTokenGrace         time.Duration
	DryRun                     bool
	// TokenID selects native rotation of an existing token (tooken).
	TokenID string
	// Targets are the secret writes (rotation mode), built by Parse.
	Targets []ghsecret.Target

	Env Env
}

// Rotation reports whether the run writes the token into secrets.
func (c *Config) Rotation() bool { return c.SecretName != "" }

// RevokeInPost is the revocation decision saved for the post phase.
func (c *Config) RevokeInPost() bool {
	switch c.Revoke {
	case RevokeAlways:
		return true
	case RevokeNever:
		return false
	default:
		return !c.Rotation()
	}
}

// ProviderOptions returns the provider options for this config (without
// the HTTP client, which the caller sets).
func (c *Config) ProviderOptions() provider.Options {
	cfg := c.ProviderConfig
	if c.ProfileState != "" {
		cfg = c.ProfileState // the profile as checked: read once
	}
	return provider.Options{
		APIURL: c.APIURL, AdminKey: c.AdminKey, ClientID: c.ClientID, Secrets: c.ProviderSecrets,
		ProviderConfig: cfg, Workspace: c.Env.Workspace, HeaderName: c.AuthHeader,
	}
}

// MintRequest returns what to mint.
func (c *Config) MintRequest() provider.MintRequest {
	return provider.MintRequest{
		Name: c.Name, Description: c.Description, Scopes: c.Scopes, TTL: c.TTL, TTLGiven: c.TTLGiven,
		Owner: c.Owner, Repositories: c.Repositories, Permissions: c.Permissions,
	}
}

// Env is what the run knows about where it runs (GITHUB_* variables).
type Env struct {
	Repository string // owner/repo
	RunID      string
	RunAttempt string
	Action     string // GITHUB_ACTION: the step's id
	Job        string // GITHUB_JOB: the job's id
	Workspace  string
	APIURL     string // GITHUB_API_URL
	Now        func() time.Time
}

// EnvFrom reads Env from a getenv function.
func EnvFrom(getenv func(string) string) Env {
	return Env{
		Repository: getenv("GITHUB_REPOSITORY"),
		RunID:      getenv("GITHUB_RUN_ID"),
		RunAttempt: getenv("GITHUB_RUN_ATTEMPT"),
		Action:     getenv("GITHUB_ACTION"),
		Job:        getenv("GITHUB_JOB"),
		Workspace:  getenv("GITHUB_WORKSPACE"),
		APIURL:     getenv("GITHUB_API_URL"),
	}
}

// Values holds raw input values by input name. Missing and empty are the
// same (the runner sends declared inputs without a value as "").
type Values map[string]string

// with returns a copy of v with the given values set.
func (v Values) with(kv map[string]string) Values {
	out := make(Values, len(v)+len(kv))
	for k, val := range v {
		out[k] = val
	}
	for k, val := range kv {
		out[k] = val
	}
	return out
}

// Get returns the trimmed value or the input's default.
func (v Values) Get(name string) string {
	s := strings.TrimSpace(v[name])
	if s == "" {
		if in, ok := Lookup(name); ok {
			return in.Default
		}
	}
	return s
}

// DefaultName is the readable name prefix of a run without a name input:
// ledger.JobPrefix in a step run, ledger.CLIPrefix outside one (no run
// ID). The ledger appends the nonce.
func DefaultName(env Env) string {
	if env.RunID == "" {
		now := time.Now
		if env.Now != nil {
			now = env.Now
		}
		return ledger.CLIPrefix(now())
	}
	return ledger.JobPrefix(env.Repository, env.Job, env.RunID, env.RunAttempt)
}

// Parse validates raw inputs for a mint without network. It returns every
// problem at once (errors.Join of *inputerr.Error).
func Parse(v Values, env Env) (*Config, error) { return parse(v, env, false) }

// ParseManage validates the inputs of list and revoke, which mint nothing:
// scopes are not required.
func ParseManage(v Values, env Env) (*Config, error) { return parse(v, env, true) }

func parse(v Values, env Env, manage bool) (*Config, error) {
	if env.Now == nil {
		env.Now = time.Now
	}
	c := &Config{Env: env}
	var errs []error
	bad := func(input, format string, args ...any) { errs = append(errs, inputerr.New(input, format, args...)) }

	c.Provider = strings.ToLower(v.Get("provider"))
	spec, known := all.Lookup(c.Provider)
	switch {
	case c.Provider == "":
		bad("provider", "is required: one of %s", strings.Join(all.Names(), ", "))
	case !known:
		bad("provider", "must be one of %s", strings.Join(all.Names(), ", "))
	}
	c.Spec = spec

	// rest: the profile supplies the defaults and limits (base URL, name
	// length, scopes) the other providers' Specs carry.
	c.ProviderConfig = v.Get("provider-config")
	secrets, serrs := ParseProviderSecrets(v["provider-secrets"])
	errs = append(errs, serrs...)
	c.ProviderSecrets = secrets
	if known && c.Provider != "rest" && len(secrets) > 0 {
		bad("provider-secrets", "is only used by the rest provider; remove it")
	}
	if known && c.Provider == "rest" {
		prof, err := rest.Load(provider.Options{
			ProviderConfig: c.ProviderConfig, ClientID: v.Get("client-id"), Workspace: env.Workspace,
		})
		if err != nil {
			errs = append(errs, err)
			known = false // the profile's own errors say it all
		} else {
			spec = rest.SpecOf(prof)
			c.Spec = spec
			c.ProfileState = prof.State()
		}
	}

	// A permission-* input no row of the permission table declares (a
	// typo, or a name GitHub does not document) is an error whatever the
	// provider: dropping it could mint a token with every permission.
	if err := githubapp.CheckPermissionInputs(undeclaredPermissionNames(v)); err != nil {
		errs = append(errs, err)
	}

	// create-github-app-token's input names (app-id, private-key,
	// permission-<name>, skip-token-revoke, github-api-url) resolve onto
	// ours for github-app; for other providers they are mistakes.
	var aliasPerms map[string]string
	if c.Provider == "github-app" {
		a, err := githubapp.ResolveAliases(func(n string) string { return v[n] })
		if err != nil {
			errs = append(errs, err)
		}
		v = v.with(map[string]string{"client-id": a.ClientID, "admin-key": a.AdminKey.Reveal(), "api-url": a.APIURL, "revoke": a.Revoke})
		aliasPerms = a.Permissions
	} else {
		for _, in := range ExtraInputs() {
			if strings.TrimSpace(v[in.Name]) != "" {
				bad(in.Name, "is only used by the github-app provider; remove it")
			}
		}
	}

	key := v["admin-key"]
	if strings.TrimSpace(key) == "" {
		bad("admin-key", "is required")
	}
	c.AdminKey = redact.Secret(strings.TrimSpace(key))

	// api-url
	c.APIURL = v.Get("api-url")
	if c.APIURL != "" {
		if err := CheckURL(c.APIURL); err != nil {
			bad("api-url", "%s", err)
		}
	} else if known {
		c.APIURL = spec.DefaultAPIURL
		if c.Provider == "github-app" && env.APIURL != "" {
			c.APIURL = env.APIURL
		}
	}
	c.APIURL = strings.TrimRight(c.APIURL, "/")

	c.ClientID = v.Get("client-id")
	c.Description = v.Get("description")
	if strings.ContainsRune(c.Description, 0) {
		bad("description", "must not contain NUL characters")
	}

	// scopes
	c.Scopes = dedupe(SplitList(v.Get("scopes")))
	if known {
		switch {
		case spec.Scopes == nil && len(c.Scopes) > 0:
			bad("scopes", "is not supported by the %s provider; remove it", c.Provider)
		case spec.ScopesRequired && len(c.Scopes) == 0 && !manage:
			bad("scopes", "is required for the %s provider: one or more of %s", c.Provider, strings.Join(spec.Scopes, ", "))
		default:
			// One error for every bad item, the valid list once. An item is
			// quoted only when it looks like a scope (never a pasted secret).
			var unknown []string
			for i, s := range c.Scopes {
				if len(spec.Scopes) > 0 && !slices.Contains(spec.Scopes, s) {
					if scopeLike.MatchString(s) && !strings.Contains(key, s) {
						unknown = append(unknown, fmt.Sprintf("%q", s))
					} else {
						unknown = append(unknown, fmt.Sprintf("item %d", i+1))
					}
				}
			}
			if len(unknown) > 0 {
				bad("scopes", "%s %s not a %s scope: use %s", strings.Join(unknown, ", "), map[bool]string{true: "is", false: "are"}[len(unknown) == 1], c.Provider, strings.Join(spec.Scopes, ", "))
			}
		}
	}

	// ttl
	c.TTLGiven = strings.TrimSpace(v["ttl"]) != ""
	ttl, err := ParseTTL(v.Get("ttl"))
	if err != nil {
		bad("ttl", "%s", err)
	} else {
		limit := MaxTTL
		if spec.MaxTTL > 0 {
			limit = spec.MaxTTL
		}
		if ttl > limit {
			why := ""
			if c.Provider == "github-app" {
				why = ": GitHub App installation tokens last 1 hour; a shorter ttl is enforced by revoking the token in the post step"
			}
			bad("ttl", "must be at most %s for the %s provider%s", humanDuration(limit), c.Provider, why)
		}
		c.TTL = ttl
	}

	// github-app only inputs.
	c.Owner = v.Get("owner")
	c.Repositories = dedupe(SplitList(v.Get("repositories")))
	if c.Provider == "github-app" {
		c.Permissions = aliasPerms
		owner, repos, err := githubapp.ResolveTarget(c.Owner, c.Repositories, env.Repository)
		if err != nil {
			errs = append(errs, err)
		} else {
			c.Owner, c.Repositories = owner, repos
		}
	} else if raw := v.Get("permissions"); raw != "" {
		c.Permissions = map[string]string{}
		for _, item := range SplitList(raw) {
			name, level, ok := strings.Cut(item, ":")
			name, level = strings.TrimSpace(name), strings.TrimSpace(level)
			if !ok || name == "" || level == "" {
				bad("permissions", "each item must be name:level, like contents:read")
				continue
			}
			c.Permissions[name] = level
		}
	}
	if known && c.Provider != "github-app" {
		for _, in := range []string{"owner", "repositories", "permissions"} {
			if v.Get(in) != "" {
				bad(in, "is only used by the github-app provider; remove it")
			}
		}
	}

	if known && c.Provider != "rest" && c.ProviderConfig != "" {
		bad("provider-config", "is only used by the rest provider; remove it")
	}

	c.AuthHeader = v.Get("auth-header")
	if known && c.Provider != "hookbase" && c.AuthHeader != "" {
		bad("auth-header", "is only used by the hookbase provider; remove it")
	}

	// name
	c.Name = v.Get("name")
	c.NameGiven = c.Name != ""
	if c.NameGiven && hasControl(c.Name) {
		bad("name", "must not contain control characters or line breaks")
	}

	// export-env
	c.ExportEnv = v.Get("export-env")
	if c.ExportEnv != "" {
		if err := CheckEnvName(c.ExportEnv); err != nil {
			bad("export-env", "%s", err)
		}
	}

	c.Revoke = strings.ToLower(v.Get("revoke"))
	if !slices.Contains([]string{RevokeAuto, RevokeAlways, RevokeNever}, c.Revoke) {
		bad("revoke", "must be auto, always or never")
	}
	c.RevokeFailure = strings.ToLower(v.Get("revoke-failure"))
	if !slices.Contains([]string{"warn", "fail"}, c.RevokeFailure) {
		bad("revoke-failure", "must be warn or fail")
	}

	if d, err := time.ParseDuration(v.Get("timeout")); err != nil {
		bad("timeout", "must be a Go duration such as 30s or 2m")
	} else if d <= 0 || d > MaxTimeout {
		bad("timeout", "must be more than 0 and at most %s", MaxTimeout)
	} else {
		c.Timeout = d
	}

	// Rotation inputs.
	c.GitHubToken = redact.Secret(strings.TrimSpace(v["github-token"]))
	c.GitHubAPIURL = v.Get("github-api-url")
	if c.GitHubAPIURL == "" {
		c.GitHubAPIURL = env.APIURL
	}
	if c.GitHubAPIURL == "" {
		c.GitHubAPIURL = "https://api.github.com"
	} else if err := CheckURL(c.GitHubAPIURL); err != nil {
		bad("github-api-url", "%s", err)
	}
	c.GitHubAPIURL = strings.TrimRight(c.GitHubAPIURL, "/")
	c.SecretName = v.Get("secret-name")
	c.TokenID = v.Get("token-id")
	if hasControl(c.TokenID) {
		bad("token-id", "must not contain control characters")
	}
	c.SecretType = strings.ToLower(v.Get("secret-type"))
	c.SecretRepositories = dedupe(SplitList(v.Get("secret-repositories")))
	c.SecretEnvironment = v.Get("secret-environment")
	c.SecretOrg = v.Get("secret-org")
	c.SecretVisibility = strings.ToLower(v.Get("secret-visibility"))
	c.SecretSelectedRepositories = dedupe(SplitList(v.Get("secret-selected-repositories")))
	if g, err := time.ParseDuration(v.Get("previous-token-grace")); err != nil {
		if d, derr := ParseTTL(v.Get("previous-token-grace")); derr == nil {
			c.PreviousTokenGrace = d
		} else {
			bad("previous-token-grace", "must be a duration such as 0s, 30m or 2d")
		}
	} else if g < 0 {
		bad("previous-token-grace", "must not be negative")
	} else {
		c.PreviousTokenGrace = g
	}
	if b, err := ParseBool(v.Get("dry-run")); err != nil {
		bad("dry-run", "must be true or false")
	} else {
		c.DryRun = b
	}
	errs = append(errs, checkRotation(c, v)...)

	// Provider-specific checks, only when the generic ones passed for the
	// fields they read.
	if known && spec.Check != nil && !manage {
		if err := spec.Check(c.ProviderOptions(), c.MintRequest()); err != nil {
			errs = append(errs, err)
		}
	}

	if !c.NameGiven && known {
		c.Name = DefaultName(env)
	}
	// Every name carries a nonce (package ledger): the provider's limit
	// must leave room for it. Only a rest profile can set a limit that low.
	if known {
		stamp := ""
		if c.Rotation() {
			stamp = ledger.Stamp(env.Now())
		}
		if err := ledger.CheckLimit(spec.MaxNameLen, stamp); err != nil {
			if c.Provider == "rest" {
				bad("provider-config", "the profile's max_name_length is too small: %v; raise it", err)
			} else {
				bad("name", "%v", err)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return c, nil
}

// checkRotation checks the rotation inputs. With secret-name set the
// secret writer's BuildTargets checks every target rule; without it, a
// secret-* input that differs from its default is a mistake.
func checkRotation(c *Config, v Values) []error {
	var errs []error
	bad := func(input, format string, args ...any) { errs = append(errs, inputerr.New(input, format, args...)) }
	if c.SecretName == "" {
		for _, in := range []string{"secret-type", "secret-repositories", "secret-environment", "secret-org",
			"secret-visibility", "secret-selected-repositories", "token-id"} {
			def, _ := Lookup(in)
			if val := strings.TrimSpace(v[in]); val != "" && !strings.EqualFold(val, def.Default) {
				bad(in, "needs secret-name (rotation mode); set secret-name or remove it")
			}
		}
		return errs
	}
	if c.GitHubToken.Empty() {
		bad("github-token", "is required with secret-name: a fine-grained PAT or GitHub App token that may write secrets (GITHUB_TOKEN cannot)")
	}
	targets, err := ghsecret.BuildTargets(ghsecret.TargetOptions{
		SecretName: c.SecretName, SecretType: c.SecretType, Repositories: c.SecretRepositories,
		CurrentRepository: c.Env.Repository, Environment: c.SecretEnvironment, Org: c.SecretOrg,
		Visibility: c.SecretVisibility, SelectedRepositories: c.SecretSelectedRepositories,
		GitHubAPIURL: c.GitHubAPIURL,
	})
	if err != nil {
		errs = append(errs, err)
	}
	c.Targets = targets
	return errs
}

var envName = lazyre.New(`^[A-Za-z_][A-Za-z0-9_]*$`)

// CheckURL applies httpx.CheckBaseURL (the one base-URL policy).
func CheckURL(raw string) error {
	_, err := httpx.CheckBaseURL(raw)
	return err
}

// SplitList splits on commas and newlines and trims each item.
func SplitList(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' }) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// MinTTL is the shortest ttl: every provider counts expiry in whole
// seconds (RFC 3339 times, expiresIn seconds).
const MinTTL = time.Second

// ParseTTL accepts a Go duration or whole days ("7d"); it must be at least
// MinTTL.
func ParseTTL(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok && days != "" && !strings.ContainsAny(days, "hmsuµn.") {
		n, err := strconv.Atoi(days)
		if err != nil || n > 100000 {
			return 0, errors.New("must be a Go duration (90m, 12h) or whole days (7d)")
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		d, err = time.ParseDuration(s)
		if err != nil {
			return 0, errors.New("must be a Go duration (90m, 12h) or whole days (7d)")
		}
	}
	if d <= 0 {
		return 0, errors.New("must be more than 0")
	}
	if d < MinTTL {
		return 0, errors.New("must be at least 1s: every provider counts expiry in whole seconds, and a shorter token would die before a later step can use it")
	}
	return d, nil
}

// ParseBool accepts true/false (any case), as workflow YAML writes them.
func ParseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true":
		return true, nil
	case "false", "":
		return false, nil
	}
	return false, errors.New("not a boolean")
}

func humanDuration(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	if d%time.Hour == 0 {
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	return d.String()
}

func dedupe(in []string) []string {
	var out []string
	for _, s := range in {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return true
		}
	}
	return false
}

// ParseProviderSecrets reads the provider-secrets input: NAME=value lines
// (blank lines ignored). Errors name the line and the rule, never a value.
func ParseProviderSecrets(raw string) (map[string]redact.Secret, []error) {
	var errs []error
	out := map[string]redact.Secret{}
	for i, line := range strings.Split(raw, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		switch {
		case !ok || !secretNameRE.MatchString(name):
			errs = append(errs, inputerr.New("provider-secrets", "line %d must be NAME=value, NAME of lowercase letters, digits and _ (the value is not shown)", i+1))
		case value == "":
			errs = append(errs, inputerr.New("provider-secrets", "line %d (%s) has an empty value", i+1, name))
		case out[name] != "":
			errs = append(errs, inputerr.New("provider-secrets", "gives %s twice", name))
		default:
			out[name] = redact.Secret(value)
		}
	}
	if len(out) == 0 {
		out = nil
	}
	return out, errs
}

// ProviderSecretValues returns every value of a provider-secrets input as
// it may be sent (for masking before the input is validated): each
// NAME=value line whole and each value alone.
func ProviderSecretValues(raw string) []string {
	var out []string
	for _, line := range strings.Split(raw, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		out = append(out, line)
		if _, v, ok := strings.Cut(line, "="); ok && strings.TrimSpace(v) != "" {
			out = append(out, strings.TrimSpace(v))
		}
	}
	return out
}

var secretNameRE = lazyre.New(`^[a-z][a-z0-9_]{0,39}$`)

// RotationIdentity is the rotation's exact identity (where its secret
// lives), from which package ledger derives the default name prefix.
func (c *Config) RotationIdentity() ledger.Rotation {
	r := ledger.Rotation{Org: c.SecretOrg, SecretType: c.SecretType, Environment: c.SecretEnvironment, SecretName: c.SecretName}
	if c.SecretOrg == "" {
		r.Repositories = c.SecretRepositories
		if len(r.Repositories) == 0 && c.Env.Repository != "" {
			r.Repositories = []string{c.Env.Repository}
		}
	}
	return r
}

// RotationPrefix is the rotation's name prefix: the name input when given,
// else the identity's default prefix.
func (c *Config) RotationPrefix() string {
	if c.NameGiven {
		return c.Name
	}
	return c.RotationIdentity().DefaultPrefix()
}
