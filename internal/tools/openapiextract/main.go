// Command openapiextract cuts GitHub's REST description (as shipped in the
// npm package @octokit/openapi, or github/rest-api-description) down to the
// operations tokenmint calls, with every component they reference, so the
// test oracle (internal/fake/ghoracle) can validate against GitHub's own
// schemas without committing the 10 MB descriptions.
//
//	npm pack @octokit/openapi@23.0.2 && tar xzf octokit-openapi-23.0.2.tgz
//	go run ./internal/tools/openapiextract -src package/generated \
//	    -out internal/fake/ghoracle/testdata/openapi
//
// For each description in the table below it writes <name>.json: the
// description's openapi, info (plus x-tokenmint-source: where it came from
// and the source file's SHA-256), servers, the selected operations (and
// their path-level parameters) and the transitive closure of the
// components they $ref. Examples are dropped (they are not validation
// rules). An operation missing from a description is listed in
// x-tokenmint-absent (GHES has no Codespaces secrets, for instance); the
// oracle then refuses such a request for that description.
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Operations are the GitHub REST operations tokenmint sends (the App
// provider, the secret writer and the relay). Keep this list in step with
// the code: the oracle fails a test whose request matches none of them.
var Operations = []string{
	// App provider (internal/provider/githubapp)
	"GET /repos/{owner}/{repo}/installation",
	"GET /orgs/{org}/installation",
	"GET /users/{username}/installation",
	"POST /app/installations/{installation_id}/access_tokens",
	"DELETE /installation/token",
	// Fakes' extra routes some tests call (GET /app, installed repositories)
	"GET /app",
	"GET /installation/repositories",
	// Secret writer (internal/ghsecret)
	"GET /repos/{owner}/{repo}",
	"GET /repos/{owner}/{repo}/actions/secrets/public-key",
	"PUT /repos/{owner}/{repo}/actions/secrets/{secret_name}",
	"GET /repos/{owner}/{repo}/dependabot/secrets/public-key",
	"PUT /repos/{owner}/{repo}/dependabot/secrets/{secret_name}",
	"GET /repos/{owner}/{repo}/codespaces/secrets/public-key",
	"PUT /repos/{owner}/{repo}/codespaces/secrets/{secret_name}",
	"GET /repos/{owner}/{repo}/environments/{environment_name}/secrets/public-key",
	"PUT /repos/{owner}/{repo}/environments/{environment_name}/secrets/{secret_name}",
	"GET /orgs/{org}/actions/secrets/public-key",
	"PUT /orgs/{org}/actions/secrets/{secret_name}",
	"GET /orgs/{org}/dependabot/secrets/public-key",
	"PUT /orgs/{org}/dependabot/secrets/{secret_name}",
	"GET /orgs/{org}/codespaces/secrets/public-key",
	"PUT /orgs/{org}/codespaces/secrets/{secret_name}",
	// Relay (internal/relay)
	"POST /repos/{owner}/{repo}/dispatches",
}

// Description is one output: a source file (relative to -src) and the
// patches that turn it into another API version.
type Description struct {
	File    string
	Patches []Patch
}

// Patch replaces the value at Pointer (a JSON pointer into the extracted
// description) with Value. Source says where the new value was read.
type Patch struct {
	Pointer string `json:"pointer"`
	Value   any    `json:"value"`
	Source  string `json:"source"`
}

// restAPIDescription2026 is the file the 2026-03-10 patches were read
// from. @octokit/openapi ships no date-versioned descriptions (its
// api.github.com.json is the 2022-11-28 one) and the full
// github/rest-api-description snapshot is too large to bring here, so
// the 2026-03-10 extract is the 2022-11-28 one with the 2026-03-10
// breaking changes that touch the operations above, each read from that
// file and recorded with its place.
const restAPIDescription2026 = "github/rest-api-description@01149204a19f69d6bac7909ceef0b571bbbe2798:descriptions/api.github.com/api.github.com.2026-03-10.json"

// Descriptions maps an output name to its source.
var Descriptions = map[string]Description{
	"api.github.com.2022-11-28": {File: "api.github.com.json"},
	"api.github.com.2026-03-10": {File: "api.github.com.json", Patches: []Patch{{
		Pointer: "/paths/~1orgs~1{org}~1dependabot~1secrets~1{secret_name}/put/requestBody/content/application~1json/schema/properties/selected_repository_ids/items",
		Value:   map[string]any{"type": "integer"},
		Source:  restAPIDescription2026 + " (char offset ~1,060,000: items {\"type\": \"integer\"}; 2022-11-28 has anyOf string, integer)",
	}}},
	"ghes-3.19": {File: "ghes-3.19.json"},
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "openapiextract: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("openapiextract", flag.ContinueOnError)
	src := fs.String("src", "", "directory holding the full descriptions (@octokit/openapi's generated/)")
	out := fs.String("out", "internal/fake/ghoracle/testdata/openapi", "output directory")
	pkg := fs.String("package", "@octokit/openapi@23.0.2", "where -src came from (recorded in each output)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *src == "" {
		return errors.New("-src is required")
	}
	names := make([]string, 0, len(Descriptions))
	for n := range Descriptions {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		d := Descriptions[name]
		file := d.File
		raw, err := os.ReadFile(filepath.Join(*src, file))
		if err != nil {
			return fmt.Errorf("failed to read %s: %w", file, err)
		}
		doc, err := Extract(raw, Operations)
		if err != nil {
			return fmt.Errorf("failed to extract %s: %w", file, err)
		}
		for _, p := range d.Patches {
			if err := apply(doc, p); err != nil {
				return fmt.Errorf("failed to patch %s: %w", name, err)
			}
		}
		if len(d.Patches) > 0 {
			doc["x-tokenmint-patches"] = d.Patches
		}
		sum := sha256.Sum256(raw)
		info, _ := doc["info"].(map[string]any)
		info["x-tokenmint-source"] = map[string]any{"package": *pkg, "file": file, "sha256": hex.EncodeToString(sum[:])}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", " ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(doc); err != nil {
			return fmt.Errorf("failed to encode %s: %w", name, err)
		}
		if err := os.MkdirAll(*out, 0o755); err != nil {
			return fmt.Errorf("failed to create %s: %w", *out, err)
		}
		if err := os.WriteFile(filepath.Join(*out, name+".json"), buf.Bytes(), 0o644); err != nil {
			return fmt.Errorf("failed to write %s: %w", name, err)
		}
		paths, _ := doc["paths"].(map[string]any)
		fmt.Fprintf(os.Stderr, "%s: %d paths, %d bytes, absent: %v\n", name, len(paths), buf.Len(), doc["x-tokenmint-absent"])
	}
	return nil
}

// Extract returns the part of the description raw that ops ("METHOD
// /path/{param}") need: those operations and every component they
// reference, transitively.
func Extract(raw []byte, ops []string) (map[string]any, error) {
	var full map[string]any
	if err := json.Unmarshal(raw, &full); err != nil {
		return nil, fmt.Errorf("failed to parse the description: %w", err)
	}
	paths, _ := full["paths"].(map[string]any)
	components, _ := full["components"].(map[string]any)
	outPaths := map[string]any{}
	absent := []string{}
	refs := map[string]bool{}
	var queue []string
	collect := func(v any) {
		for _, r := range refsIn(v) {
			if !refs[r] {
				refs[r] = true
				queue = append(queue, r)
			}
		}
	}
	for _, op := range ops {
		method, path, ok := strings.Cut(op, " ")
		if !ok {
			return nil, fmt.Errorf("bad operation %q", op)
		}
		item, _ := paths[path].(map[string]any)
		o, found := item[strings.ToLower(method)]
		if !found {
			absent = append(absent, op)
			continue
		}
		dst, _ := outPaths[path].(map[string]any)
		if dst == nil {
			dst = map[string]any{}
			if p, ok := item["parameters"]; ok {
				dst["parameters"] = p
				collect(p)
			}
			outPaths[path] = dst
		}
		o = stripExamples(o)
		dst[strings.ToLower(method)] = o
		collect(o)
	}
	outComp := map[string]any{}
	for len(queue) > 0 {
		r := queue[0]
		queue = queue[1:]
		kind, name, err := splitRef(r)
		if err != nil {
			return nil, err
		}
		group, _ := components[kind].(map[string]any)
		v, ok := group[name]
		if !ok {
			return nil, fmt.Errorf("dangling $ref %s", r)
		}
		v = stripExamples(v)
		dst, _ := outComp[kind].(map[string]any)
		if dst == nil {
			dst = map[string]any{}
			outComp[kind] = dst
		}
		dst[name] = v
		collect(v)
	}
	out := map[string]any{
		"openapi":            full["openapi"],
		"info":               full["info"],
		"servers":            full["servers"],
		"paths":              outPaths,
		"components":         outComp,
		"x-tokenmint-absent": absent,
	}
	return out, nil
}

// apply sets the value at p.Pointer, which must exist.
func apply(doc map[string]any, p Patch) error {
	parts := strings.Split(strings.TrimPrefix(p.Pointer, "/"), "/")
	var cur any = doc
	for i, raw := range parts {
		k := strings.ReplaceAll(strings.ReplaceAll(raw, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: not an object at %q", p.Pointer, k)
		}
		if _, ok := m[k]; !ok {
			return fmt.Errorf("%s: no member %q", p.Pointer, k)
		}
		if i == len(parts)-1 {
			m[k] = p.Value
			return nil
		}
		cur = m[k]
	}
	return nil
}

// splitRef turns "#/components/schemas/x" into ("schemas", "x").
func splitRef(r string) (string, string, error) {
	rest, ok := strings.CutPrefix(r, "#/components/")
	if !ok {
		return "", "", fmt.Errorf("unsupported $ref %s", r)
	}
	kind, name, ok := strings.Cut(rest, "/")
	if !ok || strings.Contains(name, "/") {
		return "", "", fmt.Errorf("unsupported $ref %s", r)
	}
	return kind, strings.ReplaceAll(strings.ReplaceAll(name, "~1", "/"), "~0", "~"), nil
}

// refsIn returns every $ref value under v.
func refsIn(v any) []string {
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch t := v.(type) {
		case map[string]any:
			if r, ok := t["$ref"].(string); ok {
				out = append(out, r)
			}
			for _, k := range sortedKeys(t) {
				walk(t[k])
			}
		case []any:
			for _, x := range t {
				walk(x)
			}
		}
	}
	walk(v)
	return out
}

// stripExamples returns a deep copy of v without "examples" and "example"
// members (a property of that name, under "properties", is kept).
func stripExamples(v any) any { return strip(v, false) }

func strip(v any, isProperties bool) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			if !isProperties && (k == "examples" || k == "example") {
				continue
			}
			out[k] = strip(x, !isProperties && k == "properties")
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = strip(x, false)
		}
		return out
	}
	return v
}

func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
