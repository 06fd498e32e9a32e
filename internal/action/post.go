package action

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/tokenmint/tokenmint/internal/config"
	"github.com/tokenmint/tokenmint/internal/httpx"
	"github.com/tokenmint/tokenmint/internal/inputerr"
	"github.com/tokenmint/tokenmint/internal/provider"
	"github.com/tokenmint/tokenmint/internal/provider/all"
	"github.com/tokenmint/tokenmint/internal/redact"
)

// postBudget bounds the post phase's retries ("within about a minute").
const postBudget = 60 * time.Second

// Post runs the post phase: revoke what main minted. It reads its
// decisions from state (what main saved), and only the admin credential
// from the inputs.
func Post(ctx context.Context, rt *Runtime) error {
	rt.init()
	providerName := rt.state(stProvider)
	names := splitLines(rt.state(stNames))
	id := rt.state(stID)
	if providerName == "" || (id == "" && len(names) == 0 && rt.state(stSecret) == "") {
		return nil // nothing was minted
	}
	adminKey := rt.input("admin-key")
	if adminKey == "" {
		adminKey = rt.input("private-key") // create-github-app-token's name
	}
	rt.mask(adminKey)
	rawSecrets := rt.Getenv("INPUT_PROVIDER-SECRETS")
	for _, s := range config.ProviderSecretValues(rawSecrets) {
		rt.mask(s)
	}
	secret := rt.state(stSecret)
	rt.mask(secret)
	if rt.state(stRevoke) != "true" {
		rt.noticef("tokenmint: token %s is kept (revocation not wanted)", describe(id, names))
		return nil
	}
	if exp := rt.state(stExpires); exp != "" {
		if t, err := time.Parse(time.RFC3339, exp); err == nil && !rt.Now().Before(t) {
			rt.noticef("tokenmint: token %s expired at %s; nothing to revoke", describe(id, names), exp)
			return nil
		}
	}
	fail := func(format string, args ...any) error {
		if rt.state(stRevokeFailure) == "fail" {
			rt.errorf(format, args...)
			return ErrFailed
		}
		rt.warnf(format, args...)
		return nil
	}
	providerSecrets, _ := config.ParseProviderSecrets(rawSecrets) // main checked them
	spec, ok := all.Lookup(providerName)
	if !ok {
		return fail("failed to revoke token %s: unknown provider in state", describe(id, names))
	}
	if adminKey == "" && providerName != "github-app" {
		return fail("failed to revoke token %s: input admin-key is empty in the post step", describe(id, names))
	}
	timeout, err := time.ParseDuration(rt.state(stTimeout))
	if err != nil || timeout <= 0 {
		timeout = httpx.DefaultTimeout
	}
	httpc := rt.httpClient(timeout, providerName+" API").With(httpx.WithRetryBudget(postBudget))
	p, err := spec.New(provider.Options{
		APIURL: rt.state(stAPIURL), AdminKey: redact.Secret(adminKey), ClientID: rt.state(stClientID), Secrets: providerSecrets,
		ProviderConfig: rt.state(stProviderConfig), HeaderName: rt.state(stAuthHeader), Workspace: rt.Getenv("GITHUB_WORKSPACE"),
		HTTP: httpc, Warnf: rt.warnf, Now: rt.Now,
	})
	if err != nil {
		ies, _ := inputerr.List(err)
		if len(ies) > 0 {
			return fail("failed to revoke token %s: %v", describe(id, names), ies[0])
		}
		return fail("failed to revoke token %s: %v", describe(id, names), err)
	}
	ctx, cancel := context.WithTimeout(ctx, postBudget+timeout)
	defer cancel()

	if id != "" || secret != "" {
		if err := p.Revoke(ctx, provider.Token{ID: id, Secret: redact.Secret(secret)}); err != nil {
			return fail("failed to revoke token %s: %v", describe(id, names), err)
		}
		rt.infof("Revoked token %s", describe(id, names))
		return nil
	}

	// Main died between the create and saving the ID: find the token by
	// each exact name it may have been created under.
	var errs []error
	revoked := 0
	for _, name := range names {
		n, err := provider.RevokeByName(ctx, p, name)
		if errors.Is(err, provider.ErrNotSupported) {
			// The service cannot list tokens (github-app): main's mint
			// failed, or main died before saving the token. Nothing can be
			// looked up; a warning here would only repeat main's error.
			rt.noticef("tokenmint: the main step saved no token, and %s tokens cannot be looked up by name; if main was interrupted after the service created one, it stays valid until it expires", providerName)
			return nil
		}
		revoked += n
		if err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fail("failed to find and revoke token %s by name: %v", describe(id, names), err)
	}
	rt.infof("Revoked %d token(s) found by name %s", revoked, describe(id, names))
	return nil
}

func describe(id string, names []string) string {
	if id != "" {
		return redact.Neutralize(id)
	}
	if len(names) > 0 {
		return "named " + redact.Neutralize(strings.Join(names, " / "))
	}
	return "(unknown)"
}

func splitLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}
