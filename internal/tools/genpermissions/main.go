// Command genpermissions generates the GitHub App permission table
// (internal/provider/githubapp/permissions_gen.go) from GitHub's official
// REST description, so tokenmint accepts exactly the permission names and
// levels GitHub documents, and every permission-* input of
// actions/create-github-app-token.
//
// Two steps, both reproducible:
//
//	# 1. Extract the app-permissions schemas from the npm package
//	#    @octokit/openapi (unpacked) and the permission-* inputs from
//	#    create-github-app-token's action.yml into a small committed file.
//	go run ./internal/tools/genpermissions -extract \
//	    -openapi /path/to/package -cgat-action action.yml -cgat-version v3.1.1 \
//	    -in internal/provider/githubapp/testdata/app-permissions.json
//
//	# 2. Generate the Go table from that file (also go generate ./internal/provider/githubapp).
//	go run ./internal/tools/genpermissions \
//	    -in internal/provider/githubapp/testdata/app-permissions.json \
//	    -out internal/provider/githubapp/permissions_gen.go
//
// Then regenerate action.yml (go run ./internal/tools/genaction > action.yml):
// its permission-* inputs come from the table.
//
// Rules: a name is in the table when any description (api.github.com,
// ghec, ghes-*) has it; its levels are the union of the descriptions'
// enums; it is cloud when api.github.com or ghec has it, ghes when a GHES
// description has it. A create-github-app-token input whose name no
// description has is kept as undocumented, with the levels its input
// description states, so tokenmint passes it on (with a warning) as that
// action does.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/format"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Extract is the committed extract: the app-permissions schema of every
// description, and create-github-app-token's permission-* inputs.
type Extract struct {
	Source struct {
		Package string `json:"package"`
		Version string `json:"version"`
		Schema  string `json:"schema"`
	} `json:"source"`
	// Descriptions maps a description's name (api.github.com, ghec,
	// ghes-3.19) to its app-permissions schema, verbatim.
	Descriptions map[string]json.RawMessage `json:"descriptions"`
	CGAT         struct {
		Repository string            `json:"repository"`
		Version    string            `json:"version"`
		Inputs     map[string]string `json:"inputs"` // permission-* name → description
	} `json:"create-github-app-token"`
}

// schema is the part of app-permissions the table needs.
type schema struct {
	Properties map[string]struct {
		Description string   `json:"description"`
		Enum        []string `json:"enum"`
	} `json:"properties"`
	Title       string `json:"title"`
	Description string `json:"description"`
}

// Permission is one generated row.
type Permission struct {
	Name, Description    string
	Levels               []string
	Cloud, GHES, Undocum bool
}

var levelOrder = []string{"read", "write", "admin"}

const schemaPath = "components.schemas.app-permissions"

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "genpermissions: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("genpermissions", flag.ContinueOnError)
	extract := fs.Bool("extract", false, "write the extract (-in) from -openapi and -cgat-action instead of generating Go")
	openapi := fs.String("openapi", "", "with -extract: the unpacked @octokit/openapi package directory")
	cgatAction := fs.String("cgat-action", "", "with -extract: create-github-app-token's action.yml")
	cgatVersion := fs.String("cgat-version", "", "with -extract: that action.yml's tag (v3.1.1)")
	in := fs.String("in", "testdata/app-permissions.json", "the extract")
	out := fs.String("out", "permissions_gen.go", "the Go file to write")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *extract {
		data, err := ExtractFrom(*openapi, *cgatAction, *cgatVersion)
		if err != nil {
			return err
		}
		return os.WriteFile(*in, data, 0o644)
	}
	data, err := os.ReadFile(*in)
	if err != nil {
		return fmt.Errorf("failed to read the extract: %w", err)
	}
	src, err := Generate(data)
	if err != nil {
		return err
	}
	return os.WriteFile(*out, src, 0o644)
}

// ExtractFrom reads the app-permissions schema of every description in
// the package's generated/ directory (the non-dereferenced files) and the
// permission-* inputs of a create-github-app-token action.yml.
func ExtractFrom(pkgDir, actionYML, cgatVersion string) ([]byte, error) {
	if pkgDir == "" || actionYML == "" || cgatVersion == "" {
		return nil, errors.New("failed to extract: -openapi, -cgat-action and -cgat-version are required")
	}
	var pkg struct{ Name, Version string }
	if err := readJSON(filepath.Join(pkgDir, "package.json"), &pkg); err != nil {
		return nil, err
	}
	var x Extract
	x.Source.Package, x.Source.Version, x.Source.Schema = pkg.Name, pkg.Version, schemaPath
	x.Descriptions = map[string]json.RawMessage{}
	files, err := filepath.Glob(filepath.Join(pkgDir, "generated", "*.json"))
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		if strings.HasSuffix(name, ".deref") {
			continue
		}
		var doc struct {
			Components struct {
				Schemas map[string]json.RawMessage `json:"schemas"`
			} `json:"components"`
		}
		if err := readJSON(f, &doc); err != nil {
			return nil, err
		}
		s, ok := doc.Components.Schemas["app-permissions"]
		if !ok {
			return nil, fmt.Errorf("failed to extract: %s has no %s", f, schemaPath)
		}
		// Only what the table reads: each property's description and enum.
		var sc schema
		if err := json.Unmarshal(s, &sc); err != nil {
			return nil, fmt.Errorf("failed to parse %s in %s: %w", schemaPath, f, err)
		}
		compact, err := json.Marshal(sc)
		if err != nil {
			return nil, err
		}
		x.Descriptions[name] = compact
	}
	if _, ok := x.Descriptions["api.github.com"]; !ok {
		return nil, errors.New("failed to extract: generated/api.github.com.json is missing")
	}
	raw, err := os.ReadFile(actionYML)
	if err != nil {
		return nil, fmt.Errorf("failed to read %s: %w", actionYML, err)
	}
	var action struct {
		Inputs map[string]struct {
			Description string `yaml:"description"`
		} `yaml:"inputs"`
	}
	if err := yaml.Unmarshal(raw, &action); err != nil {
		return nil, fmt.Errorf("failed to parse %s: %w", actionYML, err)
	}
	x.CGAT.Repository, x.CGAT.Version = "actions/create-github-app-token", cgatVersion
	x.CGAT.Inputs = map[string]string{}
	for name, in := range action.Inputs {
		if strings.HasPrefix(name, "permission-") {
			x.CGAT.Inputs[name] = in.Description
		}
	}
	if len(x.CGAT.Inputs) == 0 {
		return nil, fmt.Errorf("failed to extract: %s declares no permission-* input", actionYML)
	}
	out, err := json.MarshalIndent(x, "", " ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("failed to read %s: %w", path, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("failed to parse %s: %w", path, err)
	}
	return nil
}

// Table computes the rows from an extract, sorted by name.
func Table(x Extract) ([]Permission, error) {
	rows := map[string]*Permission{}
	names := make([]string, 0, len(x.Descriptions))
	for n := range x.Descriptions {
		names = append(names, n)
	}
	// api.github.com first, so its description text wins.
	sort.Slice(names, func(i, j int) bool {
		if (names[i] == "api.github.com") != (names[j] == "api.github.com") {
			return names[i] == "api.github.com"
		}
		return names[i] < names[j]
	})
	for _, d := range names {
		var s schema
		if err := json.Unmarshal(x.Descriptions[d], &s); err != nil {
			return nil, fmt.Errorf("failed to parse the %s schema: %w", d, err)
		}
		if len(s.Properties) == 0 {
			return nil, fmt.Errorf("the %s schema has no properties", d)
		}
		ghes := strings.HasPrefix(d, "ghes-")
		for name, p := range s.Properties {
			r := rows[name]
			if r == nil {
				r = &Permission{Name: name, Description: trimDescription(p.Description)}
				rows[name] = r
			}
			for _, lv := range p.Enum {
				if !slices.Contains(levelOrder, lv) {
					return nil, fmt.Errorf("%s: permission %s has unknown level %q", d, name, lv)
				}
				if !slices.Contains(r.Levels, lv) {
					r.Levels = append(r.Levels, lv)
				}
			}
			if ghes {
				r.GHES = true
			} else {
				r.Cloud = true
			}
		}
	}
	for input, desc := range x.CGAT.Inputs {
		name := strings.ReplaceAll(strings.TrimPrefix(input, "permission-"), "-", "_")
		if _, ok := rows[name]; ok {
			continue
		}
		levels := cgatLevels(desc)
		if len(levels) == 0 {
			return nil, fmt.Errorf("create-github-app-token input %s states no levels", input)
		}
		d := trimDescription(cgatLevelsRE.ReplaceAllString(desc, ""))
		rows[name] = &Permission{Name: name, Description: d, Levels: levels, Undocum: true}
	}
	out := make([]Permission, 0, len(rows))
	for _, r := range rows {
		slices.SortFunc(r.Levels, func(a, b string) int { return slices.Index(levelOrder, a) - slices.Index(levelOrder, b) })
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b Permission) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

var cgatLevelsRE = regexp.MustCompile(`\s*Can be set to .*$`)
var quoted = regexp.MustCompile(`'([a-z]+)'`)

// cgatLevels reads "Can be set to 'read' or 'write'." from an input's
// description.
func cgatLevels(desc string) []string {
	i := strings.Index(desc, "Can be set to ")
	if i < 0 {
		return nil
	}
	var out []string
	for _, m := range quoted.FindAllStringSubmatch(desc[i:], -1) {
		if slices.Contains(levelOrder, m[1]) {
			out = append(out, m[1])
		}
	}
	return out
}

// trimDescription drops surrounding space and the final period.
func trimDescription(d string) string {
	return strings.TrimSuffix(strings.TrimSpace(d), ".")
}

// Generate renders permissions_gen.go from an extract.
func Generate(extract []byte) ([]byte, error) {
	var x Extract
	if err := json.Unmarshal(extract, &x); err != nil {
		return nil, fmt.Errorf("failed to parse the extract: %w", err)
	}
	rows, err := Table(x)
	if err != nil {
		return nil, err
	}
	descs := make([]string, 0, len(x.Descriptions))
	for n := range x.Descriptions {
		descs = append(descs, n)
	}
	sort.Strings(descs)
	var b bytes.Buffer
	b.WriteString("// Code generated by go run ./internal/tools/genpermissions; DO NOT EDIT.\n\n")
	b.WriteString("package githubapp\n\n")
	fmt.Fprintf(&b, "// PermissionSource is where permissionTable comes from: the %s schema of\n// %s %s (%s), and the permission-* inputs of %s %s.\n",
		x.Source.Schema, x.Source.Package, x.Source.Version, strings.Join(descs, ", "), x.CGAT.Repository, x.CGAT.Version)
	fmt.Fprintf(&b, "const PermissionSource = %q\n\n", fmt.Sprintf("%s@%s (%s: %s); %s %s action.yml", x.Source.Package, x.Source.Version, x.Source.Schema, strings.Join(descs, ", "), x.CGAT.Repository, x.CGAT.Version))
	b.WriteString("// permissionTable is every permission name with its levels and where\n// GitHub documents it, sorted by name.\n")
	b.WriteString("var permissionTable = []Permission{\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "\t{Name: %q, Levels: %#v, Description: %q", r.Name, r.Levels, r.Description)
		if r.Cloud {
			b.WriteString(", Cloud: true")
		}
		if r.GHES {
			b.WriteString(", GHES: true")
		}
		if r.Undocum {
			b.WriteString(", Undocumented: true")
		}
		b.WriteString("},\n")
	}
	b.WriteString("}\n")
	src, err := format.Source(b.Bytes())
	if err != nil {
		return nil, fmt.Errorf("failed to format the generated table: %w", err)
	}
	return src, nil
}
