// Package all lists every provider tokenmint knows, by input name.
package all

import (
	"sort"

	"github.com/tokenmint/tokenmint/internal/provider"
	"github.com/tokenmint/tokenmint/internal/provider/githubapp"
	"github.com/tokenmint/tokenmint/internal/provider/groo"
	"github.com/tokenmint/tokenmint/internal/provider/hookbase"
	"github.com/tokenmint/tokenmint/internal/provider/rest"
	"github.com/tokenmint/tokenmint/internal/provider/tooken"
)

// specs is the registry. Each provider package exports its Spec.
var specs = map[string]provider.Spec{
	githubapp.Spec.Name: githubapp.Spec,
	tooken.Spec.Name:    tooken.Spec,
	hookbase.Spec.Name:  hookbase.Spec,
	groo.Spec.Name:      groo.Spec,
	rest.Spec.Name:      rest.Spec,
}

// Lookup returns the Spec for a provider name.
func Lookup(name string) (provider.Spec, bool) {
	s, ok := specs[name]
	return s, ok
}

// Names returns the known provider names, sorted.
func Names() []string {
	out := make([]string, 0, len(specs))
	for n := range specs {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
