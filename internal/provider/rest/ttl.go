package rest

import (
	"strings"
	"time"

	"github.com/tokenmint/tokenmint/internal/inputerr"
)

// checkTTLGranularity refuses a ttl the profile cannot express: a create
// body whose only expiry is in whole days ({{expiry:days}}, or {{expiry}}
// with expiry_format: days) rounds a shorter or partial-day ttl up, so the
// token would live longer than asked. A body that also sends a finer form
// (as Hookbase's expiresIn next to expiresInDays) is left alone.
func checkTTLGranularity(p *Profile, ttl time.Duration) error {
	if ttl <= 0 || p.body == nil {
		return nil
	}
	used := map[string]bool{}
	expiryFormats(p, p.body, used)
	if !used[fmtDays] || len(used) > 1 {
		return nil
	}
	if ttl%(24*time.Hour) != 0 {
		return inputerr.New("ttl", "must be whole days (1d, 7d): the profile sends the expiry in days, so a shorter ttl would be rounded up")
	}
	return nil
}

// expiryFormats collects the formats a body template sends the expiry in.
func expiryFormats(p *Profile, v any, used map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for _, e := range x {
			expiryFormats(p, e, used)
		}
	case []any:
		for _, e := range x {
			expiryFormats(p, e, used)
		}
	case tmpl:
		for _, part := range x.parts {
			switch base, f, _ := strings.Cut(part.ph, ":"); {
			case base != phExpiry:
			case f == "":
				used[p.expiryFmt] = true
			default:
				used[f] = true
			}
		}
	}
}
