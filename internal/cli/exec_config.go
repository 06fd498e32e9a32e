package cli

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/tokenmint/tokenmint/internal/config"
)

// execFile is the --config file of exec:
//
//	tokens:
//	  - provider: tooken
//	    admin-key-env: TOOKEN_ADMIN_KEY   # the variable holding the admin key
//	    scopes: [tokens:read]
//	    ttl: 15m
//	    export-env: TOOKEN_TOKEN
//	  - provider: hookbase
//	    admin-key-env: HOOKBASE_ADMIN_KEY
//	    scopes: read
//	    token-file: HOOKBASE_TOKEN_FILE
//
// Each token takes the keys of the mint flags (provider, api-url,
// client-id, provider-config, auth-header, timeout, name, description,
// scopes, ttl, owner, repositories, permissions), export-env and/or
// token-file, and admin-key-env. An admin key itself is never accepted in
// the file.

// MaxExecTokens bounds the tokens of one --config.
const MaxExecTokens = 20

func (c *cmd) loadExecConfig(path string) ([]*execToken, []string, error) {
	data, err := os.ReadFile(path) //nolint:gosec // the user names their own config file
	if err != nil {
		return nil, nil, usagef("failed to read --config: %v", err)
	}
	// Nodes, not a struct: a wrong shape is reported in the file's terms,
	// never as Go types, and a syntax error names only the line.
	var top map[string]yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&top); err != nil {
		return nil, nil, usagef("failed to parse --config %s: %s", path, strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	var file struct{ Tokens []map[string]yaml.Node }
	for k, n := range top {
		if k != "tokens" {
			return nil, nil, usagef("--config %s: unknown key %q: the file has one key, tokens, a list", path, k)
		}
		if n.Kind != yaml.SequenceNode {
			return nil, nil, usagef("--config %s: tokens must be a list (one item per token)", path)
		}
		for i, item := range n.Content {
			if item.Kind != yaml.MappingNode {
				return nil, nil, usagef("--config %s: token %d must be a mapping of keys such as provider and scopes", path, i+1)
			}
			m := map[string]yaml.Node{}
			for j := 0; j+1 < len(item.Content); j += 2 {
				m[item.Content[j].Value] = *item.Content[j+1]
			}
			file.Tokens = append(file.Tokens, m)
		}
	}
	if len(file.Tokens) == 0 {
		return nil, nil, usagef("--config %s lists no tokens: add a tokens: list", path)
	}
	if len(file.Tokens) > MaxExecTokens {
		return nil, nil, usagef("--config %s lists %d tokens: at most %d", path, len(file.Tokens), MaxExecTokens)
	}
	allowed := append(append([]string{}, providerFlags...), mintFlags...)
	var toks []*execToken
	var adminEnvs []string
	var errs []error
	for i, entry := range file.Tokens {
		label := fmt.Sprintf("token %d", i+1)
		v := config.Values{}
		var exportEnv, fileVar, adminEnv string
		keys := make([]string, 0, len(entry))
		for k := range entry {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		bad := false
		for _, k := range keys {
			node := entry[k]
			val, err := nodeString(&node)
			switch {
			case k == "admin-key" || k == "github-token":
				errs = append(errs, fmt.Errorf("--config %s: %s is never taken from the file: put it in an environment variable and name that variable in admin-key-env", label, k))
				bad = true
				continue
			case err != nil:
				errs = append(errs, fmt.Errorf("--config %s: %s %w", label, k, err))
				bad = true
				continue
			}
			switch {
			case k == "export-env":
				exportEnv = val
			case k == "token-file":
				fileVar = val
			case k == "admin-key-env":
				adminEnv = val
			case slices.Contains(allowed, k):
				v[k] = val
			default:
				errs = append(errs, fmt.Errorf("--config %s: unknown key %q: use %s, export-env, token-file or admin-key-env", label, k, strings.Join(allowed, ", ")))
				bad = true
			}
		}
		if adminEnv == "" {
			errs = append(errs, fmt.Errorf("--config %s: admin-key-env is required: the environment variable holding its admin key", label))
			continue
		}
		key := strings.TrimSpace(c.env.Getenv(adminEnv))
		if key == "" {
			errs = append(errs, fmt.Errorf("--config %s: the environment variable %s (admin-key-env) is empty or unset", label, adminEnv))
			continue
		}
		c.masker.Add(key)
		adminEnvs = append(adminEnvs, adminEnv)
		if bad {
			continue
		}
		v["admin-key"] = key
		cfg, err := config.Parse(v, c.configEnv())
		if err != nil {
			errs = append(errs, labelInputErrors("--config "+label, err))
			continue
		}
		opts := cfg.ProviderOptions()
		opts.HTTP = c.httpClient(cfg.Timeout, cfg.Provider+" API")
		opts.Now = c.env.Now
		opts.Warnf = c.warnf
		p, err := cfg.Spec.New(opts)
		if err != nil {
			errs = append(errs, fmt.Errorf("--config %s: %w", label, err))
			continue
		}
		toks = append(toks, &execToken{label: fmt.Sprintf("%s (%s)", label, cfg.Provider), cfg: cfg, p: p, exportEnv: exportEnv, fileVar: fileVar})
	}
	if len(errs) > 0 {
		return nil, nil, &UsageError{Err: errors.Join(errs...)}
	}
	if err := checkExecTargets(toks); err != nil {
		return nil, nil, err
	}
	return toks, adminEnvs, nil
}

// nodeString reads a scalar, or a list of scalars joined with commas.
func nodeString(n *yaml.Node) (string, error) {
	switch n.Kind {
	case yaml.ScalarNode:
		return n.Value, nil
	case yaml.SequenceNode:
		var parts []string
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode {
				return "", errors.New("must be a string or a list of strings")
			}
			parts = append(parts, c.Value)
		}
		return strings.Join(parts, ","), nil
	}
	return "", errors.New("must be a string or a list of strings")
}
