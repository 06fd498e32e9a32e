package cli

import (
	"errors"
	"flag"
	"io"
	"strings"

	"github.com/tokenmint/tokenmint/internal/clihelp"
	"github.com/tokenmint/tokenmint/internal/config"
)

// flagSet is the shared flag layer of the CLI's commands: flags named
// after the action's inputs (each also read from TOKENMINT_<NAME>), bare
// booleans, -o for --output, secrets refused as flag values, and help in
// the one style of package clihelp, on stdout.
type flagSet struct {
	fs      *flag.FlagSet
	page    clihelp.Page
	set     map[string]*string
	keyFile *string
	secFile *string
	ghFile  *string
	output  *string
	getenv  func(string) string
	stdout  io.Writer
}

// secretFlags are refused as flags: a secret in a flag value ends up in
// shell history and process listings. The value is never echoed.
var secretFlags = map[string]string{
	"admin-key":    "set TOKENMINT_ADMIN_KEY or use --admin-key-file",
	"github-token": "set GITHUB_TOKEN or use --github-token-file",
	// rest profiles' secrets (NAME=value lines).
	"provider-secrets": "set TOKENMINT_PROVIDER_SECRETS or use --provider-secrets-file",
}

// cliDescriptions replace the action's wording where the CLI differs.
var cliDescriptions = map[string]string{
	"name": "Token name prefix. Default: tokenmint-cli-<UTC timestamp>. tokenmint always appends -<nonce>, a random suffix drawn once per call, so every name it sends is its own.",
}

// boolString is a string-valued flag that may stand alone (--dry-run).
type boolString struct{ p *string }

func (b boolString) String() string {
	if b.p == nil {
		return ""
	}
	return *b.p
}

func (b boolString) Set(s string) error {
	if _, err := config.ParseBool(s); err != nil {
		return errors.New("must be true or false")
	}
	*b.p = s
	return nil
}

func (b boolString) IsBoolFlag() bool { return true }

// newFlags builds a command's flags: inputs are action input names;
// outputs, when set, adds --output/-o with these formats (the first is
// the default). descriptions override an input's description for this
// command.
func (c *cmd) newFlags(page clihelp.Page, inputs []string, outputs []string, descriptions map[string]string) *flagSet {
	name := strings.Fields(page.Usage)[1]
	f := &flagSet{fs: flag.NewFlagSet(name, flag.ContinueOnError), set: map[string]*string{}, getenv: c.env.Getenv, stdout: c.env.Stdout}
	f.fs.SetOutput(io.Discard)
	f.fs.Usage = func() {}
	page.Env = map[string]string{}
	page.Short = map[string]string{}
	page.Values = map[string]string{}
	f.page = page
	for _, in := range inputs {
		def, _ := config.Lookup(in)
		desc := def.Description
		if d, ok := cliDescriptions[in]; ok {
			desc = d
		}
		if d, ok := descriptions[in]; ok {
			desc = d
		}
		f.page.Env[in] = envName(in)
		p := new(string)
		f.set[in] = p
		if def.Default == "true" || def.Default == "false" {
			*p = ""
			f.fs.Var(boolString{p}, in, desc)
			continue
		}
		page.Values[in] = valueName(in)
		f.fs.StringVar(p, in, def.Default, desc)
		*p = ""
	}
	f.keyFile = f.fs.String("admin-key-file", "", "Read the admin credential from this `file`, or - for stdin. Default: the environment variable TOKENMINT_ADMIN_KEY.")
	f.secFile = f.fs.String("provider-secrets-file", "", "rest: read the profile's secrets (NAME=value lines) from this `file`, or - for stdin. Default: the environment variable TOKENMINT_PROVIDER_SECRETS.")
	f.ghFile = new(string)
	if len(outputs) > 0 {
		f.output = new(string)
		usage := "Output `format`: " + strings.Join(outputs, ", ") + "."
		f.fs.StringVar(f.output, "output", outputs[0], usage)
		*f.output = ""
		f.fs.StringVar(f.output, "o", "", "")
		f.page.Short["o"] = "output"
		f.page.Env["output"] = "TOKENMINT_OUTPUT"
	}
	return f
}

// valueName is how the help names an input flag's value.
func valueName(in string) string {
	switch in {
	case "ttl", "timeout", "previous-token-grace":
		return "duration"
	case "api-url", "github-api-url":
		return "url"
	case "scopes", "repositories", "permissions", "secret-repositories", "secret-selected-repositories":
		return "list"
	case "export-env":
		return "var"
	}
	return "string"
}

// printHelp writes the command's help on stdout.
func (f *flagSet) printHelp() { clihelp.Write(f.stdout, f.page, f.fs) }

func (f *flagSet) parse(args []string) error {
	for _, a := range args {
		if a == "--" {
			break
		}
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") {
			if hint, ok := secretFlags[name]; ok {
				return usagef("--%s is not accepted: secrets are never taken from a flag value; %s", name, hint)
			}
		}
	}
	if err := f.fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			f.printHelp()
			return err
		}
		return &UsageError{Err: err}
	}
	return nil
}

// values merges flags over TOKENMINT_* variables.
func (f *flagSet) values() config.Values {
	v := config.Values{}
	given := map[string]bool{}
	f.fs.Visit(func(fl *flag.Flag) { given[fl.Name] = true })
	for name, p := range f.set {
		if given[name] {
			v[name] = *p
			if _, isBool := f.fs.Lookup(name).Value.(boolString); isBool && *p == "" {
				v[name] = "true"
			}
		} else {
			v[name] = f.getenv(envName(name))
		}
	}
	return v
}

// given reports whether any of the named flags was set on the command line.
func (f *flagSet) given(names ...string) []string {
	var out []string
	f.fs.Visit(func(fl *flag.Flag) {
		for _, n := range names {
			if fl.Name == n {
				out = append(out, "--"+n)
			}
		}
	})
	return out
}

func (f *flagSet) outputFormat(allowed ...string) (string, error) {
	out := ""
	if f.output != nil {
		out = *f.output
		if out == "" {
			out = f.getenv("TOKENMINT_OUTPUT")
		}
	}
	if out == "" {
		return allowed[0], nil
	}
	for _, a := range allowed {
		if out == a {
			return out, nil
		}
	}
	return "", usagef("--output must be one of %s", strings.Join(allowed, ", "))
}
