// Package config turns the action's inputs (or the CLI's flags and
// environment) into one validated Inputs value. Parsing sends nothing
// anywhere; every problem is reported at once as *inputerr.Error values
// naming the input and the rule, never the value.
package config

// Input describes one action input (and its CLI flag).
type Input struct {
	Name        string
	Default     string
	Description string
	// Secret inputs are masked first and never taken from a CLI flag.
	Secret bool
	// Required is enforced by Validate (the runner does not enforce it);
	// action.yml still declares it.
	Required bool
}

// Inputs is every input of the action, in action.yml's order. The
// consistency test checks action.yml against this table.
var Inputs = []Input{
	{Name: "provider", Required: true, Description: "Token service: tooken, hookbase, groo, github-app or rest."},
	{Name: "admin-key", Required: true, Secret: true, Description: "The admin credential the token is minted with (API key, client secret, PAT, or the GitHub App's PEM private key). Masked before anything else is printed."},
	{Name: "api-url", Description: "Provider API base URL. Defaults per provider. Must be https:// unless the host is loopback."},
	{Name: "client-id", Description: "Groo application client ID; GitHub App client ID or numeric app ID."},
	{Name: "name", Description: "Readable token name prefix. tokenmint always appends -<nonce>, random characters drawn once per step run, so every name it sends is its own. Default: tokenmint-<owner>-<repo>-<job>-<run_id>-<run_attempt>; shortened with a hash to the provider's limit."},
	{Name: "description", Description: "Token description, where the provider has one."},
	{Name: "scopes", Description: "Scopes of the minted token (commas and/or newlines). Required for tooken and hookbase."},
	{Name: "ttl", Default: "1h", Description: "Token lifetime: a Go duration (90m, 12h) or whole days (7d). At most 90 days; github-app tokens last 1h."},
	{Name: "owner", Description: "github-app: the account that installed the App. Default: the current repository's owner."},
	{Name: "repositories", Description: "github-app: repositories the token may access (commas and/or newlines). Default: the current repository, or every repository of the installation when only owner is set."},
	{Name: "permissions", Description: "github-app: permissions like 'contents:read, issues:write'. Default: all the App has."},
	{Name: "provider-config", Description: "rest: path (in the workspace) to a YAML or JSON profile, or the profile inline."},
	{Name: "provider-secrets", Secret: true, Description: "rest: the secrets the profile declares (its secrets: list), as NAME=value lines, e.g. 'password=...' for a service that re-checks the account password when a token is created. Masked before anything else is printed; never saved in state, outputs or the summary."},
	{Name: "auth-header", Description: "hookbase: the header the admin key is sent in: Authorization (Bearer, the default) or X-API-Key."},
	{Name: "export-env", Description: "Name of an environment variable later steps receive the token in."},
	{Name: "revoke", Default: "auto", Description: "auto: revoke in the post step unless the token was written into a secret; always; never."},
	{Name: "revoke-failure", Default: "warn", Description: "warn or fail: what a failed revocation in the post step does to the job."},
	{Name: "timeout", Default: "30s", Description: "Bound on each HTTP request; retries stay inside an overall bound."},
	{Name: "github-token", Secret: true, Description: "Token that may write secrets (fine-grained PAT or App token; GITHUB_TOKEN cannot). Required with secret-name."},
	{Name: "github-api-url", Description: "GitHub REST base URL (GHES included). Default: $GITHUB_API_URL or https://api.github.com."},
	{Name: "secret-name", Description: "Rotation mode: write the minted token into this GitHub secret."},
	{Name: "secret-type", Default: "actions", Description: "actions, dependabot or codespaces."},
	{Name: "secret-repositories", Description: "owner/repo list of repositories to write the secret to. Default: the current repository."},
	{Name: "secret-environment", Description: "Write an environment secret of this environment in each repository instead of a repository secret."},
	{Name: "secret-org", Description: "Write an organization secret of this organization instead of repository secrets."},
	{Name: "secret-visibility", Default: "private", Description: "Organization secrets: all, private or selected."},
	{Name: "secret-selected-repositories", Description: "With secret-visibility selected: owner/repo (or bare repo) list."},
	{Name: "previous-token-grace", Default: "0s", Description: "Rotation mode: after every secret write succeeded, earlier tokens of this rotation older than this are revoked."},
	{Name: "token-id", Description: "Rotation mode with a provider that rotates natively (tooken): rotate this existing token in place instead of minting a new one. The old secret stops working at once."},
	{Name: "dry-run", Default: "false", Description: "Validate inputs, resolve targets and public keys, print the plan; mint, write and revoke nothing."},
}

// Lookup returns the Input named name.
func Lookup(name string) (Input, bool) {
	for _, in := range Inputs {
		if in.Name == name {
			return in, true
		}
	}
	return Input{}, false
}
