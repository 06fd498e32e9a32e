package shipcheck

import (
	"flag"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/tokenmint/tokenmint/internal/config"
	"github.com/tokenmint/tokenmint/internal/provider/githubapp"
)

var update = flag.Bool("update", false, "rewrite action.yml from config.ActionYAMLFor (keeping its runs.image)")

const root = "../.."

func read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, name))
	if err != nil {
		t.Fatalf("failed to read %s: %v", name, err)
	}
	return string(b)
}

type actionFile struct {
	Inputs map[string]struct {
		Required bool    `yaml:"required"`
		Default  *string `yaml:"default"`
	} `yaml:"inputs"`
	Outputs map[string]struct {
		Description string `yaml:"description"`
	} `yaml:"outputs"`
	Runs map[string]any `yaml:"runs"`
}

func loadAction(t *testing.T) actionFile {
	t.Helper()
	var a actionFile
	if err := yaml.Unmarshal([]byte(read(t, "action.yml")), &a); err != nil {
		t.Fatalf("failed to parse action.yml: %v", err)
	}
	return a
}

func stages(t *testing.T) []Stage {
	t.Helper()
	st, err := ParseDockerfile(read(t, "Dockerfile"))
	if err != nil {
		t.Fatalf("failed to parse Dockerfile: %v", err)
	}
	return st
}

// releaseImage is what a release commit points runs.image at.
var releaseImage = regexp.MustCompile(`^docker://ghcr\.io/[a-z0-9._-]+/tokenmint:v[0-9]+\.[0-9]+\.[0-9]+[A-Za-z0-9.-]*(@sha256:[a-f0-9]{64})?$`)

func TestActionYAML_Golden(t *testing.T) {
	t.Parallel()
	a := loadAction(t)
	image, _ := a.Runs["image"].(string)
	if image != config.Image && !releaseImage.MatchString(image) {
		t.Fatalf("action.yml runs.image = %q: want %q or a released docker://ghcr.io/OWNER/tokenmint:vX.Y.Z image", image, config.Image)
	}
	want := config.ActionYAMLFor(image)
	if *update {
		if err := os.WriteFile(filepath.Join(root, "action.yml"), []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if diff := cmp.Diff(want, read(t, "action.yml")); diff != "" {
		t.Errorf("action.yml is stale (-generated +file); run go run ./internal/tools/genaction > action.yml or go test ./internal/shipcheck -update:\n%s", diff)
	}
}

func TestActionYAML_Runs(t *testing.T) {
	t.Parallel()
	a := loadAction(t)
	got := map[string]any{}
	for k, v := range a.Runs {
		if k != "image" {
			got[k] = v
		}
	}
	// No args: the runner passes the same args to both phases, so the
	// phase is told apart by the entry point alone.
	want := map[string]any{
		"using":           "docker",
		"entrypoint":      "/entrypoint/main",
		"post-entrypoint": "/entrypoint/post",
		"post-if":         "always()",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("action.yml runs (-want +got):\n%s", diff)
	}
}

func TestDockerfile_FinalStage(t *testing.T) {
	t.Parallel()
	st := stages(t)
	final := st[len(st)-1]
	if !strings.HasPrefix(final.Image, "gcr.io/distroless/static") && final.Image != "scratch" {
		t.Errorf("final stage FROM %s: want gcr.io/distroless/static… or scratch", final.Image)
	}
	for _, cmd := range []string{"USER", "WORKDIR", "RUN", "SHELL", "CMD", "VOLUME"} {
		for _, in := range final.Find(cmd) {
			t.Errorf("Dockerfile:%d: %s in the final stage (the runner needs root and sets --workdir; no shell there)", in.Line, cmd)
		}
	}
	eps := final.Find("ENTRYPOINT")
	if len(eps) != 1 {
		t.Fatalf("final stage has %d ENTRYPOINT lines, want 1", len(eps))
	}
	argv, ok := ExecForm(eps[0].Args)
	if !ok {
		t.Fatalf("Dockerfile:%d: ENTRYPOINT %s is shell form; want exec form [\"/tokenmint\"] (/bin/sh drops INPUT_ names with dashes)", eps[0].Line, eps[0].Args)
	}

	files, err := FinalFiles(st)
	if err != nil {
		t.Fatal(err)
	}
	target := shimTarget(t)
	a := loadAction(t)
	ep, _ := a.Runs["entrypoint"].(string)
	post, _ := a.Runs["post-entrypoint"].(string)
	// What each path in the final image must be built from.
	want := map[string]string{
		ep:      "./entrypoint",
		post:    "./entrypoint",
		target:  "./cmd/tokenmint",
		argv[0]: "./cmd/tokenmint",
	}
	got := map[string]string{}
	for p := range want {
		pkg, ok := files[p]
		if !ok {
			pkg = "(missing from the final stage)"
		}
		got[p] = pkg
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("final stage files (-want +got); it holds %v:\n%s", sortedKeys(files), diff)
	}
	// The phase is the shim's own base name.
	if filepath.Base(ep) != "main" || filepath.Base(post) != "post" {
		t.Errorf("entry points %s and %s must be named main and post", ep, post)
	}
}

// shimTarget reads the tokenmint path the entry-point shim execs.
func shimTarget(t *testing.T) string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(root, "entrypoint", "main.go"), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok {
			continue
		}
		for _, s := range gd.Specs {
			vs, ok := s.(*ast.ValueSpec)
			if !ok || len(vs.Names) != 1 || vs.Names[0].Name != "target" || len(vs.Values) != 1 {
				continue
			}
			if lit, ok := vs.Values[0].(*ast.BasicLit); ok {
				v, err := strconv.Unquote(lit.Value)
				if err == nil {
					return v
				}
			}
		}
	}
	t.Fatal("entrypoint/main.go: no var target = \"…\"")
	return ""
}

func TestDockerfile_Build(t *testing.T) {
	t.Parallel()
	st := stages(t)
	var build *Stage
	for i := range st[:len(st)-1] {
		if strings.HasPrefix(st[i].Image, "golang:") {
			build = &st[i]
		}
	}
	if build == nil {
		t.Fatal("no golang build stage")
	}
	// Go version: golang:X.Y.Z-… must be go.mod's go line.
	m := regexp.MustCompile(`(?m)^go ([0-9.]+)\s*$`).FindStringSubmatch(read(t, "go.mod"))
	if m == nil {
		t.Fatal("go.mod has no go line")
	}
	tag := strings.TrimPrefix(strings.SplitN(build.Image, "@", 2)[0], "golang:")
	goVersion, _, _ := strings.Cut(tag, "-")
	if goVersion != m[1] {
		t.Errorf("Dockerfile builds with golang:%s, go.mod says go %s", goVersion, m[1])
	}
	if build.Platform != "$BUILDPLATFORM" {
		t.Errorf("build stage --platform=%q: want $BUILDPLATFORM (cross-compile, no emulation)", build.Platform)
	}

	env := ""
	for _, in := range build.Find("ENV") {
		env += " " + in.Args
	}
	if !strings.Contains(env, "CGO_ENABLED=0") {
		t.Error("build stage does not set CGO_ENABLED=0")
	}
	outs := BuildOutputs(*build)
	var builds []string
	for _, in := range build.Find("RUN") {
		for _, part := range strings.Split(in.Args, "&&") {
			if f := shellFields(part); len(f) >= 2 && f[0] == "go" && f[1] == "build" {
				builds = append(builds, strings.Join(f, " "))
			}
		}
	}
	if len(builds) == 0 || len(outs) == 0 {
		t.Fatal("no go build -o in the build stage")
	}
	for _, b := range builds {
		for _, flag := range []string{"-trimpath", "-s -w"} {
			if !strings.Contains(b, flag) {
				t.Errorf("%q lacks %s", b, flag)
			}
		}
		if strings.HasSuffix(b, "./cmd/tokenmint") && !strings.Contains(b, "-X github.com/tokenmint/tokenmint/internal/cli.Version=${VERSION}") {
			t.Errorf("%q does not stamp internal/cli.Version", b)
		}
	}
}

func TestDockerfile_BaseImagesPinned(t *testing.T) {
	t.Parallel()
	st := stages(t)
	names := map[string]bool{}
	digest := regexp.MustCompile(`^[a-z0-9./-]+:[A-Za-z0-9._-]+@sha256:[a-f0-9]{64}$`)
	for _, s := range st {
		if names[strings.ToLower(s.Image)] || s.Image == "scratch" || s.Image == "" { // "": the ARGs before the first FROM
			continue
		}
		if !digest.MatchString(s.Image) {
			t.Errorf("FROM %s: pin base images by tag and digest (IMAGE:TAG@sha256:…)", s.Image)
		}
		if s.Name != "" {
			names[s.Name] = true
		}
	}
}

func TestInputs_DeclaredAndRead(t *testing.T) {
	t.Parallel()
	a := loadAction(t)
	reads, err := InputReads(filepath.Join(root, "internal", "config"), filepath.Join(root, "internal", "action"))
	if err != nil {
		t.Fatal(err)
	}
	// github-app reads create-github-app-token's names (app-id,
	// permission-<name>…) through a getter over its permission table:
	// record what it asks for.
	_, _ = githubapp.ResolveAliases(func(name string) string {
		reads[name] = append(reads[name], "githubapp.ResolveAliases")
		return ""
	})
	declared := sortedKeys(a.Inputs)
	read := sortedKeys(reads)
	var undeclared, unread []string
	for _, n := range read {
		if _, ok := a.Inputs[n]; !ok {
			undeclared = append(undeclared, n+" (read at "+strings.Join(reads[n], ", ")+")")
		}
	}
	for _, n := range declared {
		if _, ok := reads[n]; !ok {
			unread = append(unread, n)
		}
	}
	if len(undeclared) > 0 {
		t.Errorf("inputs the code reads that action.yml does not declare: %v", undeclared)
	}
	if len(unread) > 0 {
		t.Errorf("inputs action.yml declares that no code reads: %v", unread)
	}

	// The runtime reads every declared input generically (Runtime.Values
	// ranges over config.Inputs); the table and action.yml must agree.
	var table []string
	for _, in := range config.AllInputs() {
		table = append(table, in.Name)
		got := a.Inputs[in.Name]
		def := ""
		if got.Default != nil {
			def = *got.Default
		}
		if got.Required != in.Required || def != in.Default {
			t.Errorf("input %s: action.yml required=%v default=%q, config says required=%v default=%q", in.Name, got.Required, def, in.Required, in.Default)
		}
	}
	slices.Sort(table)
	if diff := cmp.Diff(declared, table); diff != "" {
		t.Errorf("action.yml inputs vs config.AllInputs (-action.yml +config):\n%s", diff)
	}
}

func TestOutputs_Declared(t *testing.T) {
	t.Parallel()
	a := loadAction(t)
	var want []string
	for _, o := range config.Outputs {
		want = append(want, o.Name)
	}
	slices.Sort(want)
	if diff := cmp.Diff(want, sortedKeys(a.Outputs)); diff != "" {
		t.Errorf("action.yml outputs (-config +action.yml):\n%s", diff)
	}
}
