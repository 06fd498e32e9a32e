package main

import (
	"github.com/tokenmint/tokenmint/internal/fakeserver"
)

// The github-app scenario (issue 4): an installation token for one
// repository of the fake App's organization, minted from the App's PEM
// and revoked with the token itself.

// githubAppSetup returns the github-app inputs against the fakes at base
// and a function counting the fake App API's requests so far. The runner's
// GITHUB_REPOSITORY (octo-org/octo-repo) is not installed in the fake, so
// owner and repositories name an installed repository: the same requests
// as the default "current repository" form.
func githubAppSetup(base string, svc *fakeserver.Services) (map[string]string, func() int, error) {
	return map[string]string{
		"provider":     "github-app",
		"admin-key":    svc.GitHubApp.App.Key.PKCS1PEM(),
		"client-id":    fakeserver.GitHubClientID,
		"api-url":      fakeserver.APIURLs(base)["github-app"],
		"owner":        fakeserver.GitHubAppOwner,
		"repositories": "alpha",
	}, svc.GitHubApp.Total, nil
}

// requestFloors returns the fewest requests a mint and a revoke can take
// with provider: github-app must find the installation before it creates
// the token (GET …/installation, POST …/access_tokens); the others create
// and revoke with one request each.
func requestFloors(provider string) (mint, revoke int) {
	if provider == "github-app" {
		return 2, RequestsPerRevok
	}
	return RequestsPerMint, RequestsPerRevok
}
