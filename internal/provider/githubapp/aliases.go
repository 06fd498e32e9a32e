package githubapp

import (
	"errors"
	"strings"

	"github.com/tokenmint/tokenmint/internal/inputerr"
	"github.com/tokenmint/tokenmint/internal/redact"
)

// Aliases is what create-github-app-token's input names resolve to, merged
// with tokenmint's own inputs. Empty fields were set by neither name.
type Aliases struct {
	// ClientID is client-id, or app-id.
	ClientID string
	// AdminKey is admin-key, or private-key.
	AdminKey redact.Secret
	// APIURL is api-url, or github-api-url (without a trailing slash).
	APIURL string
	// Permissions merges the permissions input with every permission-<name>
	// input that has a value. Nil when none is set.
	Permissions map[string]string
	// Revoke is the revoke input, or "never" when skip-token-revoke is true.
	Revoke string
	// Used lists the alias inputs that had a value, so the caller can print
	// a notice that they are compatibility names.
	Used []string
}

// ResolveAliases reads create-github-app-token's input names through get
// (which returns an input's raw value, "" when unset) next to tokenmint's:
//
//	app-id            → client-id
//	private-key       → admin-key
//	github-api-url    → api-url
//	permission-<name> → permissions entry <name>:<level>
//	skip-token-revoke → revoke: never (when true)
//
// Setting an alias and its new name to different values is an
// *inputerr.Error naming the alias; so is skip-token-revoke: true with
// revoke: always. The errors of every input are joined. Keys are compared
// after trimming surrounding whitespace and never echoed.
//
// Declare none of the aliases with a default in action.yml: a defaulted
// alias would always be "set".
func ResolveAliases(get func(name string) string) (Aliases, error) {
	var a Aliases
	var errs []error
	pick := func(newName, alias string, norm func(string) string) string {
		nv, av := norm(get(newName)), norm(get(alias))
		switch {
		case av == "":
			return nv
		case nv == "":
			a.Used = append(a.Used, alias)
			return av
		case nv != av:
			a.Used = append(a.Used, alias)
			errs = append(errs, inputerr.New(alias, "is create-github-app-token's name for %s and both are set to different values; set only %s", newName, newName))
			return nv
		default:
			a.Used = append(a.Used, alias)
			return nv
		}
	}
	a.ClientID = pick("client-id", "app-id", strings.TrimSpace)
	a.AdminKey = redact.Secret(pick("admin-key", "private-key", strings.TrimSpace))
	a.APIURL = pick("api-url", "github-api-url", func(s string) string { return strings.TrimRight(strings.TrimSpace(s), "/") })

	perms, err := ParsePermissions(get("permissions"))
	if err != nil {
		errs = append(errs, err)
	}
	for _, p := range permissionTable {
		in := p.InputName()
		v := strings.TrimSpace(get(in))
		if v == "" {
			continue
		}
		a.Used = append(a.Used, in)
		_, level, err := checkPermission(in, p.Name, v)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if prev, ok := perms[p.Name]; ok && prev != level {
			errs = append(errs, inputerr.New(in, "conflicts with %s:%s in permissions; set the permission in one place", p.Name, prev))
			continue
		}
		if perms == nil {
			perms = map[string]string{}
		}
		perms[p.Name] = level
	}
	a.Permissions = perms

	a.Revoke = strings.TrimSpace(get("revoke"))
	if v := strings.TrimSpace(get("skip-token-revoke")); v != "" {
		a.Used = append(a.Used, "skip-token-revoke")
		skip, ok := parseBool(v)
		switch {
		case !ok:
			errs = append(errs, inputerr.New("skip-token-revoke", "must be true or false"))
		case skip && a.Revoke == "always":
			errs = append(errs, inputerr.New("skip-token-revoke", "true conflicts with revoke: always; set only revoke"))
		case skip:
			a.Revoke = "never"
		}
	}
	return a, errors.Join(errs...)
}

// parseBool accepts the YAML 1.2 core booleans, as @actions/core's
// getBooleanInput does.
func parseBool(s string) (value, ok bool) {
	switch s {
	case "true", "True", "TRUE":
		return true, true
	case "false", "False", "FALSE":
		return false, true
	}
	return false, false
}
