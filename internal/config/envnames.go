package config

import (
	"fmt"
	"path"
	"strings"
)

// The export-env rule, in one place: a later step receives the token in a
// variable of the user's choosing, and the value comes from a server. A
// name is refused when setting it could make a later step execute
// something, load code, or send traffic (and credentials) to another host.
// Names are compared upper-cased: Linux programs read most of these in one
// case, but npm reads npm_config_* in either, and a refused name in another
// case is never what the user meant.

// EnvFamily is one documented family of refused names.
type EnvFamily struct {
	// Family names the group in errors and in the README.
	Family string
	// Patterns are upper-case path.Match globs: "PATH", "GIT_*", "*_PROXY".
	Patterns []string
	// Except are globs of names in the family that only carry a
	// credential to the host a tool is already configured for (a
	// registry's token variable), which export-env exists to fill.
	Except []string
}

// RefusedEnv is every family of names export-env refuses. The README's
// export-env list is checked against it.
var RefusedEnv = []EnvFamily{
	{Family: "the runner and workflow context",
		Patterns: []string{"CI", "GITHUB_*", "RUNNER_*", "ACTIONS_*", "INPUT_*", "STATE_*"}},
	{Family: "shell start-up and parsing",
		Patterns: []string{"PATH", "BASH_ENV", "ENV", "ZDOTDIR", "PROMPT_COMMAND", "PS0", "PS1", "PS2", "PS4", "IFS",
			"SHELLOPTS", "BASHOPTS", "CDPATH", "GLOBIGNORE", "HOME", "SHELL", "TMPDIR", "HISTFILE", "INPUTRC",
			"BASH_FUNC_*", "XDG_*"}},
	{Family: "dynamic loaders and the C library",
		Patterns: []string{"LD_*", "DYLD_*", "MALLOC_*", "GCONV_PATH", "GLIBC_TUNABLES", "LOCPATH", "NLSPATH",
			"HOSTALIASES", "RESOLV_HOST_CONF", "LOCALDOMAIN"}},
	{Family: "version control (git, ssh, hg, svn)",
		Patterns: []string{"GIT_*", "SSH_ASKPASS", "SSH_AUTH_SOCK", "SUDO_ASKPASS", "HGRCPATH", "HGEDITOR", "HGPLAIN",
			"SVN_EDITOR", "SVN_SSH"}},
	{Family: "editors, pagers and terminals",
		Patterns: []string{"EDITOR", "VISUAL", "PAGER", "MANPAGER", "MANOPT", "BROWSER", "LESS", "LESSOPEN", "LESSCLOSE",
			"LESSKEY", "LESSKEYIN", "LESSEDIT", "LESSSECURE", "LESSCHARSET", "LESSHISTFILE", "TERMINFO", "TERMINFO_DIRS"}},
	{Family: "containers and clusters (docker, buildx, compose, podman, kubectl, helm)",
		Patterns: []string{"DOCKER_*", "BUILDKIT_*", "BUILDX_*", "COMPOSE_*", "CONTAINERS_*", "PODMAN_*", "HELM_*",
			"CONTAINER_HOST", "CONTAINER_CONNECTION", "KUBECONFIG"}},
	{Family: "package managers and build tools (npm, yarn, pnpm, pip, uv, poetry, conda, cargo, rustup, go, bundler, gem, composer, maven, gradle, nuget, make, C compilers)",
		Patterns: []string{"NPM_CONFIG_*", "YARN_*", "PNPM_*", "COREPACK_*", "PIP_*", "PIPX_*", "UV_*", "POETRY_*", "CONDA_*",
			"CARGO_*", "RUSTUP_*", "RUSTC_WRAPPER", "RUSTC_WORKSPACE_WRAPPER", "RUSTC", "RUSTDOC", "RUSTFLAGS", "RUSTDOCFLAGS",
			"GOFLAGS", "GOPROXY", "GONOPROXY", "GOPRIVATE", "GOSUMDB", "GONOSUMDB", "GOINSECURE", "GOVCS", "GOAUTH",
			"GOTOOLCHAIN", "GOENV", "GOPATH", "GOROOT", "GOBIN", "GOCACHE", "GOMODCACHE", "GOEXPERIMENT", "GOWORK", "CGO_*",
			"BUNDLE_*", "GEM_HOME", "GEM_PATH", "GEMRC", "COMPOSER_*", "MAVEN_OPTS", "MAVEN_ARGS", "MAVEN_CONFIG",
			"GRADLE_OPTS", "GRADLE_USER_HOME", "ORG_GRADLE_PROJECT_*", "NUGET_*", "DOTNET_*",
			"CC", "CXX", "CPP", "LD", "AR", "AS", "CFLAGS", "CXXFLAGS", "CPPFLAGS", "LDFLAGS", "MAKEFLAGS", "MFLAGS",
			"PKG_CONFIG", "PKG_CONFIG_PATH", "CMAKE_*"},
		Except: []string{"CARGO_REGISTRY_TOKEN", "CARGO_REGISTRIES_*_TOKEN", "UV_PUBLISH_TOKEN", "POETRY_PYPI_TOKEN_*"}},
	{Family: "language runtimes (Python, Perl, Ruby, Node.js, Java, .NET, Lua, PHP, R, Erlang, Deno, Bun)",
		Patterns: []string{"PYTHON*", "PERL5*", "PERL_*", "PERLLIB", "RUBY*", "NODE_*", "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS",
			"JDK_JAVA_OPTIONS", "JAVA_OPTS", "JAVA_HOME", "CLASSPATH", "CORECLR_*", "COMPLUS_*", "COREHOST_*",
			"LUA_*", "PHPRC", "PHP_INI_SCAN_DIR", "R_PROFILE*", "R_ENVIRON*", "R_LIBS*", "ERL_*", "ELIXIR_ERL_OPTIONS",
			"TCLLIBPATH", "DENO_*", "BUN_*"},
		Except: []string{"NODE_AUTH_TOKEN"}},
	{Family: "proxies",
		Patterns: []string{"*_PROXY"}},
	{Family: "CA bundles, TLS and network configuration",
		Patterns: []string{"SSL_CERT_*", "CURL_CA_BUNDLE", "CURL_HOME", "REQUESTS_CA_BUNDLE", "AWS_CA_BUNDLE", "WGETRC",
			"NETRC", "SSLKEYLOGFILE", "OPENSSL_CONF", "OPENSSL_ENGINES", "OPENSSL_MODULES", "GNUTLS_SYSTEM_PRIORITY_FILE"}},
}

// EnvNameError says why an export-env name is refused.
type EnvNameError struct {
	// Family is the refused family, "" when the name is malformed.
	Family string
	msg    string
}

func (e *EnvNameError) Error() string { return e.msg }

// CheckEnvName validates an export-env name: the shape the runner accepts,
// and no name of a RefusedEnv family. The error names the family and how
// to fix it, and quotes nothing of the name but the rule it matched.
func CheckEnvName(name string) error {
	if !envName.MatchString(name) {
		return &EnvNameError{msg: "must match [A-Za-z_][A-Za-z0-9_]*"}
	}
	if f, rule, ok := refusedFamily(name); ok {
		return &EnvNameError{Family: f.Family, msg: fmt.Sprintf(
			"must not name a variable of %s (%s): later steps would run code or reach another host chosen by the token's server; pick a name of your own such as API_TOKEN",
			f.Family, rule)}
	}
	return nil
}

// refusedFamily returns the family refusing name and the pattern it
// matched ("GIT_*", "*_PROXY", "PATH").
func refusedFamily(name string) (EnvFamily, string, bool) {
	up := strings.ToUpper(name)
	match := func(globs []string) (string, bool) {
		for _, g := range globs {
			if ok, _ := path.Match(g, up); ok {
				return g, true
			}
		}
		return "", false
	}
	for _, f := range RefusedEnv {
		if _, ok := match(f.Except); ok {
			continue
		}
		if g, ok := match(f.Patterns); ok {
			return f, g, true
		}
	}
	return EnvFamily{}, "", false
}

// RefusedEnvMarkdown renders RefusedEnv as the README's list.
func RefusedEnvMarkdown() string {
	var b strings.Builder
	quote := func(globs []string) string {
		q := make([]string, len(globs))
		for i, g := range globs {
			q[i] = "`" + g + "`"
		}
		return strings.Join(q, ", ")
	}
	for _, f := range RefusedEnv {
		fmt.Fprintf(&b, "- %s: %s", f.Family, quote(f.Patterns))
		if len(f.Except) > 0 {
			fmt.Fprintf(&b, " (allowed: %s)", quote(f.Except))
		}
		b.WriteString("\n")
	}
	return b.String()
}
