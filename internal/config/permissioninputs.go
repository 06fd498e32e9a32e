package config

import (
	"slices"
	"strings"
)

// UndeclaredPermissionInputs returns the INPUT_PERMISSION-* variables of
// environ (KEY=VALUE entries) that are not declared inputs, keyed by input
// name (permission-isues). The runner sets INPUT_ for every with: key, so a
// typo arrives here.
func UndeclaredPermissionInputs(environ []string) map[string]string {
	var out map[string]string
	for _, kv := range environ {
		k, val, ok := strings.Cut(kv, "=")
		name, isInput := strings.CutPrefix(k, "INPUT_")
		if !ok || !isInput || !strings.HasPrefix(strings.ToLower(name), "permission-") {
			continue
		}
		name = strings.ToLower(name)
		if _, declared := lookupAny(name); declared {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[name] = val
	}
	return out
}

// undeclaredPermissionNames returns the set permission-* keys of v that
// are not declared inputs, sorted.
func undeclaredPermissionNames(v Values) []string {
	var out []string
	for k, val := range v {
		if !strings.HasPrefix(k, "permission-") || strings.TrimSpace(val) == "" {
			continue
		}
		if _, declared := lookupAny(k); !declared {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// lookupAny finds a declared input, ExtraInputs included.
func lookupAny(name string) (Input, bool) {
	for _, in := range AllInputs() {
		if in.Name == name {
			return in, true
		}
	}
	return Input{}, false
}
