package providertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tokenmint/tokenmint/internal/fake"
	"github.com/tokenmint/tokenmint/internal/httpx"
	"github.com/tokenmint/tokenmint/internal/provider"
)

// HugeBody is the size of the oversized answer (20 MB).
const HugeBody = 20 << 20

// MaxHeapDelta bounds what the process may allocate while the provider
// reads (and refuses) a HugeBody answer.
const MaxHeapDelta = 8 << 20

// HostilePayloads are server texts that would issue workflow commands or
// inject file-command entries if printed as they are.
var HostilePayloads = []string{
	"::stop-commands::x",
	"::add-mask::foo",
	"##[set-output name=x]y",
	"\n_GitHubActionsFileCommandDelimeter_\nBASH_ENV=/tmp/x\n",
	"bad request\r\n::error::injected\n##[group]x",
	"line\u2028::warning::x",
}

// Case names (stable: they key Harness.Skip and the table).
const (
	CaseMint              = "mint_scopes_ttl"
	CaseFindByName        = "find_by_exact_name"
	CaseRevoke            = "revoke"
	CaseRevokeUnknown     = "revoke_unknown_id"
	CaseRotate            = "rotate"
	CaseCreate5xx         = "create_500_502_then_success"
	CaseCreate429         = "create_429_retry_after"
	CaseCreateLostDrop    = "create_answer_lost_drop"
	CaseCreateLost500     = "create_answer_lost_500"
	CaseCreateSlow        = "create_slow_past_timeout"
	CaseCreateMalformed   = "create_malformed_json"
	CaseCreateMalformedOK = "create_malformed_json_recovers"
	CaseCreateHuge        = "create_huge_body_20mb"
	CaseCreateHostile     = "create_hostile_error_bodies"
	CaseCreateHostile5xx  = "create_hostile_5xx_exhausts_attempts"
	CaseList5xx           = "list_500_502_then_success"
	CaseRevoke5xx         = "revoke_500_502_then_success"
	CaseRevoke429         = "revoke_429_retry_after"
	CaseRevokeLost        = "revoke_answer_lost_drop"
	CaseRevokeSlow        = "revoke_slow_past_timeout"
	CaseRevokeHostile     = "revoke_hostile_error_bodies"
)

var (
	happyMint   = Op{Creates: 1, Total: 1}
	happyRevoke = Op{Revokes: 1, Total: 1}
	// A create performed but whose answer was lost: look the name up,
	// revoke what it made, create again under a suffixed name.
	lostMint = Op{Creates: 2, Lists: 1, Revokes: 1, Total: 4}
)

var cases = []caseDef{
	{name: CaseMint, run: caseMint},
	{name: CaseFindByName, needs: needList, run: caseFind},
	{name: CaseRevoke, run: caseRevoke},
	{name: CaseRevokeUnknown, run: caseRevokeUnknown},
	{name: CaseRotate, needs: func(h Harness) string {
		if !h.Caps.CanRotate {
			return "no rotate endpoint"
		}
		return ""
	}, run: caseRotate},
	{name: CaseCreate5xx, needs: needListOrRoute, run: caseCreate5xx},
	{name: CaseCreate429, run: caseCreate429},
	{name: CaseCreateLostDrop, needs: needListOrRoute, run: func(c *C) { caseCreateLost(c, fake.Fault{After: true, Drop: true}) }},
	{name: CaseCreateLost500, needs: needListOrRoute, run: func(c *C) {
		caseCreateLost(c, fake.Fault{After: true, Status: 500, Body: `{"error":"internal_error","message":"Internal error"}`})
	}},
	{name: CaseCreateSlow, needs: needListOrRoute, run: func(c *C) { caseCreateLost(c, fake.Fault{After: true, Delay: 10 * c.H.Timeout}) }},
	{name: CaseCreateMalformed, needs: needListOrRoute, run: caseCreateMalformed},
	{name: CaseCreateMalformedOK, needs: needListOrRoute, run: func(c *C) { caseCreateLost(c, fake.Fault{RawBody: `{"id": "tm_x", "token": `}) }},
	{name: CaseCreateHuge, serial: true, run: caseCreateHuge},
	{name: CaseCreateHostile, run: caseCreateHostile},
	{name: CaseCreateHostile5xx, run: caseCreateHostile5xx},
	{name: CaseList5xx, needs: needList, run: caseList5xx},
	{name: CaseRevoke5xx, run: func(c *C) {
		caseRevokeFault(c, Op{Revokes: 3, Total: 3}, fake.Fault{Status: 500}, fake.Fault{Status: 502})
	}},
	{name: CaseRevoke429, run: func(c *C) {
		caseRevokeFault(c, Op{Revokes: 2, Total: 2}, fake.Fault{Status: 429, Header: map[string]string{"Retry-After": "1"}, Body: `{"error":"rate_limited"}`})
		if !slices.Contains(c.Waits(), time.Second) {
			c.T.Errorf("waits = %v, want the 1s of Retry-After among them", c.Waits())
		}
	}},
	{name: CaseRevokeLost, run: func(c *C) {
		caseRevokeFault(c, Op{Revokes: 2, Total: 2}, fake.Fault{After: true, Drop: true})
	}},
	{name: CaseRevokeSlow, run: func(c *C) {
		caseRevokeFault(c, Op{Revokes: 2, Total: 2}, fake.Fault{After: true, Delay: 10 * c.H.Timeout})
	}},
	{name: CaseRevokeHostile, run: caseRevokeHostile},
}

// CaseNames lists every case in table order.
func CaseNames() []string {
	out := make([]string, len(cases))
	for i, c := range cases {
		out[i] = c.name
	}
	return out
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// checkToken compares a token's scopes and expiry with the request.
func (c *C) checkToken(what string, tok provider.Token, start, end time.Time) {
	t := c.T
	t.Helper()
	if c.H.Caps.HasScopes {
		if diff := cmp.Diff(sorted(c.H.Scopes), sorted(tok.Scopes)); diff != "" {
			t.Errorf("%s scopes (-want +got):\n%s", what, diff)
		}
	}
	if c.H.Caps.HasExpiry {
		lo := start.Add(c.H.TTL - c.H.ExpiryTolerance)
		hi := end.Add(c.H.TTL + c.H.ExpiryTolerance)
		if tok.ExpiresAt.Before(lo) || tok.ExpiresAt.After(hi) {
			t.Errorf("%s expiry = %v, want within %v of now+%v (%v … %v)", what, tok.ExpiresAt, c.H.ExpiryTolerance, c.H.TTL, lo, hi)
		}
	}
}

func caseMint(c *C) {
	t := c.T
	start := time.Now()
	tok := c.MustMint(c.Name(""))
	end := time.Now()
	c.WantOp("mint", happyMint, c.LastMint())
	if want := c.LastLedger().Name(1); tok.Name != want {
		t.Errorf("name = %q, want the ledger's first name %q", tok.Name, want)
	}
	c.checkToken("minted token", *tok, start, end)
	rec, ok := c.Server.Store.Get(tok.ID)
	if !ok {
		t.Fatalf("the fake holds no token with the returned ID %q", tok.ID)
	}
	if rec.Secret != tok.Secret.Reveal() {
		t.Errorf("returned secret differs from the one the fake issued")
	}
	stored := provider.Token{Scopes: rec.Scopes, ExpiresAt: rec.ExpiresAt}
	c.checkToken("stored token", stored, start, end)
	if c.H.Caps.CanList {
		found, err := provider.FindByName(context.Background(), c.Provider, tok.Name)
		c.noteErr(err)
		if err != nil {
			t.Fatalf("failed to find by name: %v", err)
		}
		if len(found) != 1 || found[0].ID != tok.ID {
			t.Fatalf("FindByName() = %d tokens, want exactly the minted one", len(found))
		}
		c.noteTok(&found[0])
		if !found[0].Secret.Empty() {
			t.Errorf("a listed token carries a secret; only create and rotate answers should")
		}
		c.checkToken("listed token", found[0], start, end)
		if c.H.Caps.HasExpiry && !found[0].ExpiresAt.Equal(tok.ExpiresAt) {
			t.Errorf("listed expiry %v differs from the minted %v", found[0].ExpiresAt, tok.ExpiresAt)
		}
	}
	c.MustRevoke(*tok)
	c.WantOp("revoke", happyRevoke, c.LastRevoke())
}

func caseFind(c *C) {
	t := c.T
	ctx := context.Background()
	a := c.MintExact(c.Name(""))
	b := c.MintExact(c.Name("longer"))            // a's name is a prefix of it
	o := c.MintExact(c.Name("")[1:])              // a's name without its first letter
	u := c.MintExact(strings.ToUpper(c.Name(""))) // case differs
	found, err := provider.FindByName(ctx, c.Provider, a.Name)
	c.noteErr(err)
	if err != nil {
		t.Fatalf("failed to find by name: %v", err)
	}
	var ids []string
	for _, f := range found {
		ids = append(ids, f.ID)
	}
	if diff := cmp.Diff([]string{a.ID}, ids); diff != "" {
		t.Errorf("FindByName(exact) IDs (-want +got):\n%s", diff)
	}
	c.MustRevoke(*a)
	found, err = provider.FindByName(ctx, c.Provider, a.Name)
	c.noteErr(err)
	if err != nil {
		t.Fatalf("failed to find by name: %v", err)
	}
	if len(found) != 0 {
		t.Errorf("FindByName() after revoke = %d tokens, want 0 (revoked tokens are skipped)", len(found))
	}
	for _, tok := range []*provider.Token{b, o, u} {
		c.MustRevoke(*tok)
	}
}

func caseRevoke(c *C) {
	t := c.T
	tok := c.MustMint(c.Name(""))
	c.MustRevoke(*tok)
	c.WantOp("revoke", happyRevoke, c.LastRevoke())
	rec, ok := c.Server.Store.Get(tok.ID)
	if ok && rec.Live(time.Now()) {
		t.Errorf("token is still live at the fake after revoke")
	}
	// Revoking again: the service says it is gone, which is success.
	c.MustRevoke(*tok)
	c.WantOp("second revoke", happyRevoke, c.LastRevoke())
}

func caseRevokeUnknown(c *C) {
	if err := c.Revoke(provider.Token{ID: c.H.UnknownID, Name: c.Name("")}); err != nil {
		c.T.Errorf("revoke of an unknown ID = %v, want success (already gone)", err)
	}
	c.WantOp("revoke", happyRevoke, c.LastRevoke())
}

func caseRotate(c *C) {
	t := c.T
	rot, ok := c.Provider.(provider.Rotator)
	if !ok {
		t.Fatalf("Caps.CanRotate is set but the provider does not implement provider.Rotator")
	}
	tok := c.MustMint(c.Name(""))
	before := c.counts()
	nt, err := rot.Rotate(context.Background(), tok.ID)
	c.noteErr(err)
	if err != nil {
		t.Fatalf("failed to rotate: %v", err)
	}
	c.noteTok(nt)
	if got := sub(c.counts(), before); got.Total != 1 {
		t.Errorf("rotate sent %d requests, want 1", got.Total)
	}
	if nt.ID != tok.ID {
		t.Errorf("rotated ID = %q, want the same %q", nt.ID, tok.ID)
	}
	if nt.Secret.Empty() || nt.Secret == tok.Secret {
		t.Errorf("rotated secret is empty or unchanged")
	}
	rec, _ := c.Server.Store.Get(tok.ID)
	if rec.Secret != nt.Secret.Reveal() {
		t.Errorf("the fake does not hold the new secret: the old one may still work")
	}
	c.MustRevoke(*nt)
}

func caseCreate5xx(c *C) {
	c.Server.Push(c.H.Routes.Create, fake.Fault{Status: 500, Body: `{"error":"internal_error"}`}, fake.Fault{Status: 502, Body: "<html>Bad Gateway</html>"})
	tok := c.MustMint(c.Name(""))
	// Each 5xx may hide a create: the next attempt takes the next name,
	// and each lost name is looked up (nothing) once the mint is done.
	c.WantOp("mint", Op{Creates: 3, Lists: 2, Total: 5}, c.LastMint())
	if want := c.LastLedger().Name(3); tok.Name != want {
		c.T.Errorf("name = %q, want the third name %q", tok.Name, want)
	}
	c.MustRevoke(*tok)
}

func caseCreate429(c *C) {
	c.Server.Push(c.H.Routes.Create, fake.Fault{Status: 429, Header: map[string]string{"Retry-After": "1"}, Body: `{"error":"rate_limited","message":"Rate limit exceeded"}`})
	tok := c.MustMint(c.Name(""))
	// A 429 certainly did nothing: the client retries the create itself.
	c.WantOp("mint", Op{Creates: 2, Total: 2}, c.LastMint())
	if !slices.Contains(c.Waits(), time.Second) {
		c.T.Errorf("waits = %v, want the 1s of Retry-After among them", c.Waits())
	}
	c.MustRevoke(*tok)
	c.WantOp("revoke", happyRevoke, c.LastRevoke())
}

func caseCreateLost(c *C, f fake.Fault) {
	c.Server.Push(c.H.Routes.Create, f)
	tok := c.MustMint(c.Name(""))
	c.WantOp("mint", lostMint, c.LastMint())
	if n := len(c.Server.Store.All()); n != 2 {
		c.T.Errorf("the fake created %d tokens, want 2 (the lost one and the returned one)", n)
	}
	c.MustRevoke(*tok)
	c.WantOp("revoke", happyRevoke, c.LastRevoke())
}

func caseCreateMalformed(c *C) {
	c.Server.Push(c.H.Routes.Create, fake.Fault{RawBody: `{"id": "tm_x", "token": `})
	_, err := c.Mint(c.Name(""), 1)
	if !errors.Is(err, httpx.ErrUnreadable) {
		c.T.Errorf("error = %v, want one wrapping httpx.ErrUnreadable", err)
	}
	if !httpx.Ambiguous(err) {
		c.T.Errorf("an unreadable create answer must count as ambiguous")
	}
	c.WantOp("mint", Op{Creates: 1, Lists: 1, Revokes: 1, Total: 3}, c.LastMint())
}

func caseCreateHuge(c *C) {
	c.Server.Push(c.H.Routes.Create, fake.Fault{HugeBody: HugeBody})
	var err error
	delta := heapDelta(func() { _, err = c.Mint(c.Name(""), 1) })
	if !errors.Is(err, httpx.ErrBodyTooLarge) {
		c.T.Errorf("error = %v, want one wrapping httpx.ErrBodyTooLarge", err)
	}
	if err != nil && !strings.Contains(err.Error(), "too large") {
		c.T.Errorf("error %q does not say the answer was too large", err)
	}
	c.bytes.mu.Lock()
	read := c.bytes.max
	c.bytes.mu.Unlock()
	if read > httpx.DefaultMaxBody+64<<10 {
		c.T.Errorf("read %d bytes of one answer, want at most the cap %d (+64 KiB)", read, httpx.DefaultMaxBody)
	}
	if delta > MaxHeapDelta {
		c.T.Errorf("allocated %d bytes while refusing a %d-byte answer, want < %d", delta, HugeBody, MaxHeapDelta)
	}
	c.T.Logf("huge body: read %d bytes, allocated %.1f MiB", read, float64(delta)/(1<<20))
	if !c.H.Caps.CanList || c.H.Routes.List == "" {
		// The create the server performed cannot be looked up: the token
		// is kept on purpose (the post phase would revoke it by ID only).
		for _, r := range c.Server.Store.Live() {
			c.Keep(r.ID)
		}
		if got := c.LastMint().Creates; got != 1 {
			c.T.Errorf("creates = %d, want 1", got)
		}
		return
	}
	c.WantOp("mint", Op{Creates: 1, Lists: 1, Revokes: 1, Total: 3}, c.LastMint())
}

// hostileBodies are error bodies built from HostilePayloads, plus the
// admin key echoed back (it must be masked).
func hostileBodies(adminKey string) []string {
	var out []string
	for _, p := range HostilePayloads {
		msg, _ := json.Marshal(p)
		out = append(out,
			fmt.Sprintf(`{"error":"bad_request","message":%s,"status":400}`, msg),
			fmt.Sprintf(`{"error":%s}`, msg),
			p,
		)
	}
	key, _ := json.Marshal("invalid key " + adminKey)
	out = append(out, fmt.Sprintf(`{"error":"unauthorized","message":%s}`, key), "key "+adminKey+" refused")
	return out
}

func caseCreateHostile(c *C) {
	for i, body := range hostileBodies(c.H.AdminKey) {
		c.Server.Push(c.H.Routes.Create, fake.Fault{Status: 400, Body: body, Header: map[string]string{"X-Request-Id": "::add-mask::req"}})
		_, err := c.Mint(c.Name(""), 0)
		if httpx.StatusOf(err) != 400 {
			c.T.Errorf("body %d: error = %v, want a 400 *httpx.APIError", i, err)
		}
		c.WantOp(fmt.Sprintf("mint with hostile body %d", i), Op{Creates: 1, Total: 1}, c.LastMint())
	}
}

func caseCreateHostile5xx(c *C) {
	for _, p := range HostilePayloads[:4] {
		c.Server.Push(c.H.Routes.Create, fake.Fault{Status: 502, Body: p})
	}
	_, err := c.Mint(c.Name(""), 4)
	if httpx.StatusOf(err) != 502 {
		c.T.Errorf("error = %v, want the last 502", err)
	}
}

func caseList5xx(c *C) {
	t := c.T
	tok := c.MustMint(c.Name(""))
	c.Server.Push(c.H.Routes.List, fake.Fault{Status: 500}, fake.Fault{Status: 502})
	before := c.counts()
	found, err := provider.FindByName(context.Background(), c.Provider, tok.Name)
	c.noteErr(err)
	if err != nil {
		t.Fatalf("failed to find by name: %v", err)
	}
	if len(found) != 1 {
		t.Errorf("FindByName() = %d tokens, want 1", len(found))
	}
	if got := sub(c.counts(), before); got.Lists < 3 {
		t.Errorf("list requests = %d, want at least 3 (two 5xx retried)", got.Lists)
	}
	c.MustRevoke(*tok)
}

func caseRevokeFault(c *C, want Op, faults ...fake.Fault) {
	tok := c.MustMint(c.Name(""))
	c.Server.Push(c.H.Routes.Revoke, faults...)
	c.MustRevoke(*tok)
	c.WantOp("revoke", want, c.LastRevoke())
	if rec, ok := c.Server.Store.Get(tok.ID); ok && rec.Live(time.Now()) {
		c.T.Errorf("token is still live at the fake after revoke")
	}
}

func caseRevokeHostile(c *C) {
	tok := c.MustMint(c.Name(""))
	for i, body := range hostileBodies(c.H.AdminKey) {
		c.Server.Push(c.H.Routes.Revoke, fake.Fault{Status: 422, Body: body})
		err := c.Revoke(*tok)
		if httpx.StatusOf(err) != 422 {
			c.T.Errorf("body %d: error = %v, want a 422 *httpx.APIError", i, err)
		}
	}
	c.MustRevoke(*tok)
}
