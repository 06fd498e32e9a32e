package rest

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Placeholder names.
const (
	phName        = "name"
	phDescription = "description"
	phScopes      = "scopes"
	phExpiry      = "expiry"
	phID          = "id"
	phClientID    = "client_id"
	phAdminKey    = "admin_key"
	// phSecret is {{secret:NAME}}: a secret the profile declares under
	// secrets, given through the provider-secrets input.
	phSecret = "secret"
)

// identRE is a secret name or a scope_values name.
var identRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)

// Expiry formats (create.expiry_format and {{expiry:FORMAT}}).
const (
	fmtRFC3339 = "rfc3339"
	fmtUnix    = "unix"
	fmtUnixMS  = "unix_ms" // response timestamps only
	fmtJWT     = "jwt"     // response only: the exp claim of a JWT (read, not verified)
	fmtSeconds = "seconds"
	fmtDays    = "days"
)

var requestExpiryFormats = []string{fmtRFC3339, fmtUnix, fmtSeconds, fmtDays}

// part is a literal run or a placeholder of a template.
type part struct {
	lit string
	ph  string // placeholder name ("expiry:days"); empty for a literal
}

// tmpl is a parsed "{{placeholder}}" template.
type tmpl struct {
	parts []part
}

// parseTemplate parses s; allowed lists the placeholders this field may use.
func parseTemplate(s string, allowed ...string) (tmpl, error) {
	var t tmpl
	rest := s
	for rest != "" {
		i := strings.Index(rest, "{{")
		if i < 0 {
			if strings.Contains(rest, "}}") {
				return tmpl{}, errors.New(`has "}}" without "{{"`)
			}
			t.parts = append(t.parts, part{lit: rest})
			break
		}
		if strings.Contains(rest[:i], "}}") {
			return tmpl{}, errors.New(`has "}}" without "{{"`)
		}
		if i > 0 {
			t.parts = append(t.parts, part{lit: rest[:i]})
		}
		j := strings.Index(rest[i+2:], "}}")
		if j < 0 {
			return tmpl{}, errors.New(`has "{{" without "}}"`)
		}
		name := strings.TrimSpace(rest[i+2 : i+2+j])
		if !placeholderAllowed(name, allowed) {
			return tmpl{}, fmt.Errorf("placeholder {{%s}} is not available here; use %s", safeName(name), listPlaceholders(allowed))
		}
		t.parts = append(t.parts, part{ph: name})
		rest = rest[i+2+j+2:]
	}
	return t, nil
}

func placeholderAllowed(name string, allowed []string) bool {
	base, format, hasFormat := strings.Cut(name, ":")
	for _, a := range allowed {
		if a != base {
			continue
		}
		if base == phSecret {
			return hasFormat && identRE.MatchString(format)
		}
		if !hasFormat {
			return true
		}
		if base == phScopes {
			return identRE.MatchString(format)
		}
		if base == phExpiry {
			for _, f := range requestExpiryFormats {
				if f == format {
					return true
				}
			}
		}
	}
	return false
}

func listPlaceholders(allowed []string) string {
	if len(allowed) == 0 {
		return "none"
	}
	out := make([]string, 0, len(allowed))
	for _, a := range allowed {
		switch a {
		case phSecret:
			out = append(out, "{{secret:NAME}}")
			continue
		case phExpiry:
			out = append(out, "{{expiry}}", "{{expiry:FORMAT}}")
			continue
		case phScopes:
			out = append(out, "{{scopes}}", "{{scopes:NAME}}")
			continue
		}
		out = append(out, "{{"+a+"}}")
	}
	return strings.Join(out, ", ")
}

// safeName keeps an unknown placeholder name printable and short.
func safeName(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}

// whole returns the placeholder when the template is exactly one.
func (t tmpl) whole() (string, bool) {
	if len(t.parts) == 1 && t.parts[0].ph != "" {
		return t.parts[0].ph, true
	}
	return "", false
}

// uses reports whether the template holds placeholder base (any format).
func (t tmpl) uses(base string) bool {
	for _, p := range t.parts {
		if b, _, _ := strings.Cut(p.ph, ":"); p.ph != "" && b == base {
			return true
		}
	}
	return false
}

// placeholders returns the placeholders of t ("secret:password").
func (t tmpl) placeholders() []string {
	var out []string
	for _, p := range t.parts {
		if p.ph != "" {
			out = append(out, p.ph)
		}
	}
	return out
}

// hasPlaceholder reports whether t has any placeholder.
func (t tmpl) hasPlaceholder() bool {
	for _, p := range t.parts {
		if p.ph != "" {
			return true
		}
	}
	return false
}

// values holds what placeholders stand for in one request. A missing key
// is a placeholder with no value (no description, no ttl).
type values map[string]any // string, []string or int64

// str is the text form of a value: strings as they are, lists joined with
// commas, numbers in decimal.
func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []string:
		return strings.Join(x, ",")
	case int64:
		return strconv.FormatInt(x, 10)
	case bool:
		return strconv.FormatBool(x)
	case int:
		return strconv.Itoa(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	default:
		return ""
	}
}

// render returns the template's text with each placeholder replaced by
// escape(text of its value).
func (t tmpl) render(v values, escape func(string) string) string {
	var b strings.Builder
	for _, p := range t.parts {
		if p.ph == "" {
			b.WriteString(p.lit)
			continue
		}
		s := str(v[p.ph])
		if escape != nil {
			s = escape(s)
		}
		b.WriteString(s)
	}
	return b.String()
}

// parseBody checks and compiles the decoded body template tree.
func parseBody(v any, path string, allowed []string) (any, []error) {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		var errs []error
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			c, e := parseBody(x[k], path+"."+k, allowed)
			errs = append(errs, e...)
			out[k] = c
		}
		return out, errs
	case map[any]any:
		return nil, []error{fieldErr(path, "object keys must be strings")}
	case []any:
		out := make([]any, len(x))
		var errs []error
		for i, e := range x {
			c, ee := parseBody(e, fmt.Sprintf("%s[%d]", path, i), allowed)
			errs = append(errs, ee...)
			out[i] = c
		}
		return out, errs
	case string:
		t, err := parseTemplate(x, allowed...)
		if err != nil {
			return nil, []error{fieldErr(path, "%s", err)}
		}
		return t, nil
	case nil, bool, int, int64, uint64, float64:
		return x, nil
	default:
		return nil, []error{fieldErr(path, "must be JSON: objects, lists, strings, numbers, booleans or null")}
	}
}

// bodyUses reports whether any string of the compiled tree uses base.
func bodyUses(v any, base string) bool {
	switch x := v.(type) {
	case map[string]any:
		for _, e := range x {
			if bodyUses(e, base) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if bodyUses(e, base) {
				return true
			}
		}
	case tmpl:
		return x.uses(base)
	}
	return false
}

// bodyTemplates calls fn for every template of the compiled tree with the
// JSON pointer of its place ("/labels/0").
func bodyTemplates(v any, at string, fn func(ptr string, t tmpl)) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			bodyTemplates(e, at+"/"+strings.NewReplacer("~", "~0", "/", "~1").Replace(k), fn)
		}
	case []any:
		for i, e := range x {
			bodyTemplates(e, at+"/"+strconv.Itoa(i), fn)
		}
	case tmpl:
		fn(at, x)
	}
}

// absent marks a value that leaves its member out.
type absentT struct{}

var absent = absentT{}

// fill builds the request body from the compiled tree: a string that is
// exactly one placeholder becomes the typed value (a list for scopes, a
// number for unix/seconds/days expiries), and a member whose placeholder
// has no value is left out; other strings get the text of their values.
// The result is marshalled with encoding/json: values are never spliced
// into JSON text.
func fill(v any, vals values) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if f := fill(e, vals); f != absent {
				out[k] = f
			}
		}
		return out
	case []any:
		out := make([]any, 0, len(x))
		for _, e := range x {
			if f := fill(e, vals); f != absent {
				out = append(out, f)
			}
		}
		return out
	case tmpl:
		if ph, ok := x.whole(); ok {
			val, has := vals[ph]
			if !has {
				return absent
			}
			if l, ok := val.([]string); ok && l == nil {
				return []string{}
			}
			return val
		}
		return x.render(vals, nil)
	default:
		return x
	}
}
