package provider

import "context"

// FindByName lists tokens and returns the live ones whose name is exactly
// name (byte for byte). Whether such a token may be touched is decided by
// package ledger, never by a name match alone.
func FindByName(ctx context.Context, p Provider, name string) ([]Token, error) {
	all, err := p.List(ctx, name)
	if err != nil {
		return nil, err
	}
	var out []Token
	for _, t := range all {
		if t.Name == name && !t.Revoked {
			out = append(out, t)
		}
	}
	return out, nil
}
