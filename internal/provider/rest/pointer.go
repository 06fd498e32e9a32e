package rest

import (
	"errors"
	"strconv"
	"strings"
)

// pointer is a parsed RFC 6901 JSON pointer: "" is the whole document,
// "/a/0/b~1c" the reference tokens a, 0, b/c.
type pointer struct {
	raw    string
	tokens []string
}

var errPointer = errors.New(`must be a JSON pointer starting with "/"`)

// parsePointer parses s. root allows "" (the whole document).
func parsePointer(s string, root bool) (pointer, error) {
	if s == "" {
		if root {
			return pointer{}, nil
		}
		return pointer{}, errPointer
	}
	if s[0] != '/' {
		return pointer{}, errPointer
	}
	parts := strings.Split(s[1:], "/")
	for i, p := range parts {
		// "~" must be followed by 0 or 1.
		for j := 0; j < len(p); j++ {
			if p[j] == '~' && (j+1 >= len(p) || (p[j+1] != '0' && p[j+1] != '1')) {
				return pointer{}, errors.New(`is not a valid JSON pointer: "~" must be followed by 0 or 1`)
			}
		}
		parts[i] = strings.ReplaceAll(strings.ReplaceAll(p, "~1", "/"), "~0", "~")
	}
	return pointer{raw: s, tokens: parts}, nil
}

// resolve returns the value at p in doc (decoded JSON: map[string]any,
// []any, string, json.Number, bool, nil) and whether it exists.
func (p pointer) resolve(doc any) (any, bool) {
	cur := doc
	for _, tok := range p.tokens {
		switch v := cur.(type) {
		case map[string]any:
			next, ok := v[tok]
			if !ok {
				return nil, false
			}
			cur = next
		case []any:
			i, ok := arrayIndex(tok)
			if !ok || i >= len(v) {
				return nil, false
			}
			cur = v[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// arrayIndex parses an RFC 6901 array index: "0" or digits without a
// leading zero. "-" (past the end) never resolves when reading.
func arrayIndex(tok string) (int, bool) {
	if tok == "" || (len(tok) > 1 && tok[0] == '0') {
		return 0, false
	}
	for i := 0; i < len(tok); i++ {
		if tok[i] < '0' || tok[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(tok)
	return n, err == nil
}

// pointers is a list of alternatives: the first that resolves to a
// non-null value wins. Services that answer in several shapes need it.
type pointers []pointer

func (ps pointers) set() bool { return len(ps) > 0 }

// first returns the first non-null value any alternative resolves to.
func (ps pointers) first(doc any) (any, bool) {
	for _, p := range ps {
		if v, ok := p.resolve(doc); ok && v != nil {
			return v, true
		}
	}
	return nil, false
}

func (ps pointers) String() string {
	raws := make([]string, len(ps))
	for i, p := range ps {
		raws[i] = strconv.Quote(p.raw)
	}
	return strings.Join(raws, " or ")
}
