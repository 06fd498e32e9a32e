package githubapp_test

import (
	"context"
	"testing"
	"time"

	"github.com/tokenmint/tokenmint/internal/fake/ghapp"
	"github.com/tokenmint/tokenmint/internal/httpx"
	"github.com/tokenmint/tokenmint/internal/provider"
	"github.com/tokenmint/tokenmint/internal/provider/githubapp"
	"github.com/tokenmint/tokenmint/internal/redact"
)

// BenchmarkClient_MintRevoke measures one mint (installation lookup + token)
// and one revoke against the fake on 127.0.0.1, JWT signing included.
func BenchmarkClient_MintRevoke(b *testing.B) {
	f := ghapp.NewDefault("/api/v3")
	base, stop, err := f.Start("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = stop() }()
	p, err := githubapp.New(provider.Options{APIURL: base, ClientID: ghapp.DefaultClientID, AdminKey: redact.Secret(ghapp.TestKey(0).PKCS1PEM()), HTTP: httpx.New(httpx.WithTimeout(5 * time.Second))})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	req := provider.MintRequest{Owner: ghapp.DefaultOrg, Repositories: []string{"alpha"}, Permissions: map[string]string{"contents": "read"}}
	b.ReportAllocs()
	for b.Loop() {
		tok, err := p.Mint(ctx, req)
		if err != nil {
			b.Fatal(err)
		}
		if err := p.Revoke(ctx, *tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParsePrivateKey measures what New pays to read the PEM.
func BenchmarkParsePrivateKey(b *testing.B) {
	pem := ghapp.TestKey(0).EscapedPEM()
	for b.Loop() {
		if _, err := githubapp.ParsePrivateKey(pem); err != nil {
			b.Fatal(err)
		}
	}
}
