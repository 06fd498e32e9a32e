package action

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/tokenmint/tokenmint/internal/config"
	"github.com/tokenmint/tokenmint/internal/httpx"
	"github.com/tokenmint/tokenmint/internal/inputerr"
	"github.com/tokenmint/tokenmint/internal/ledger"
	"github.com/tokenmint/tokenmint/internal/provider"
	"github.com/tokenmint/tokenmint/internal/provider/all"
	"github.com/tokenmint/tokenmint/internal/redact"
)

// postBudget bounds the post phase's retries ("within about a minute").
const postBudget = 60 * time.Second

// Post runs the post phase: revoke what main minted, and sweep the names
// of the ledger whose outcome main never learned. It reads its decisions
// from state (what main saved), and only the admin credential from the
// inputs. It touches no token the ledger does not own.
func Post(ctx context.Context, rt *Runtime) error {
	rt.init()
	providerName := rt.state(stProvider)
	id := rt.state(stID)
	secret := rt.state(stSecret)
	l, lerr := ledger.Decode(rt.state(stLedger))
	if lerr != nil {
		l = &ledger.Ledger{}
	}
	pending := l.Pending()
	// Tokens the service confirmed: the one handed out (token-id), and any
	// whose answer main read but did not live to hand out.
	ids := l.MintedIDs()
	if id != "" && !slices.Contains(ids, id) {
		ids = append([]string{id}, ids...)
	}
	if id == "" && len(ids) > 0 {
		id = ids[0]
	}
	if providerName == "" || (id == "" && secret == "" && len(pending) == 0 && lerr == nil) {
		return nil // nothing was minted
	}
	rt.maskSecretInputs() // before any other line (spec main-phase step 2, per phase)
	adminKey := rt.input("admin-key")
	if adminKey == "" {
		adminKey = rt.input("private-key") // create-github-app-token's name
	}
	rt.mask(adminKey)
	rt.mask(secret)
	what := describe(id, l)
	fail := func(format string, args ...any) error {
		if rt.state(stRevokeFailure) == "fail" {
			rt.errorf(format, args...)
			return ErrFailed
		}
		rt.warnf(format, args...)
		return nil
	}
	providerSecrets, _ := config.ParseProviderSecrets(rt.input("provider-secrets")) // main checked them
	var ledgerErr error
	if lerr != nil {
		// The token state names is still revoked below; only the lost
		// attempts' names are unknown.
		ledgerErr = fail("%v; tokens of lost attempts cannot be cleaned up", lerr)
	}
	wanted := rt.state(stRevoke) == "true" && (id != "" || secret != "")
	if !wanted && (id != "" || secret != "") && len(pending) == 0 {
		rt.noticef("tokenmint: token %s is kept (revocation not wanted)", what)
		return ledgerErr
	}
	if exp := rt.state(stExpires); exp != "" {
		if t, err := time.Parse(time.RFC3339, exp); err == nil && !rt.Now().Before(t) {
			rt.noticef("tokenmint: token %s expired at %s; nothing to revoke", what, exp)
			return ledgerErr
		}
	}
	spec, ok := all.Lookup(providerName)
	if !ok {
		return fail("failed to revoke token %s: unknown provider in state", what)
	}
	if adminKey == "" && providerName != "github-app" {
		return fail("failed to revoke token %s: input admin-key is empty in the post step", what)
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
			return fail("failed to revoke token %s: %v", what, ies[0])
		}
		return fail("failed to revoke token %s: %v", what, err)
	}
	ctx, cancel := context.WithTimeout(ctx, postBudget+timeout)
	defer cancel()

	var failed error
	switch {
	case wanted && secret != "":
		// github-app: its revocation authenticates with the token itself.
		if err := p.Revoke(ctx, provider.Token{ID: id, Secret: redact.Secret(secret)}); err != nil {
			failed = fail("failed to revoke token %s: %v", what, err)
		} else {
			rt.infof("Revoked token %s", what)
		}
	case wanted:
		for _, tid := range ids {
			if err := p.Revoke(ctx, provider.Token{ID: tid}); err != nil {
				failed = fail("failed to revoke token %s: %v", redact.Neutralize(tid), err)
			} else {
				rt.infof("Revoked token %s", redact.Neutralize(tid))
			}
		}
	case id != "" || secret != "":
		rt.noticef("tokenmint: token %s is kept (revocation not wanted)", what)
	}

	// Names whose outcome main never learned (it died between create and
	// state, or a create was lost): find each by its exact name and revoke
	// it, even when a later attempt succeeded.
	if len(pending) > 0 {
		res := l.Sweep(ctx, p, providerName, spec.ListScope)
		for _, t := range res.Revoked {
			rt.infof("Revoked token %s named %q, left by a lost attempt of this step", redact.Neutralize(t.ID), redact.Neutralize(t.Name))
		}
		if res.Problem != nil {
			if err := fail("%v", res.Problem); err != nil {
				failed = err
			}
		} else if len(res.Revoked) == 0 {
			rt.infof("No token was left under the name(s) %s of lost attempts", redact.Neutralize(strings.Join(pending, ", ")))
		}
	}
	if failed == nil {
		failed = ledgerErr
	}
	return failed
}

// describe names the token for messages: its ID, else the ledger's names.
func describe(id string, l *ledger.Ledger) string {
	if id != "" {
		return redact.Neutralize(id)
	}
	if names := l.Names(); len(names) > 0 {
		return "named " + redact.Neutralize(strings.Join(names, " / "))
	}
	return "(unknown)"
}
