package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	extractPath = "../../provider/githubapp/testdata/app-permissions.json"
	tablePath   = "../../provider/githubapp/permissions_gen.go"
)

// TestGenerate_TableIsCurrent regenerates the Go table from the committed
// extract and fails when permissions_gen.go drifts from it (run go
// generate ./internal/provider/githubapp).
func TestGenerate_TableIsCurrent(t *testing.T) {
	t.Parallel()
	extract, err := os.ReadFile(extractPath)
	if err != nil {
		t.Fatal(err)
	}
	want, err := Generate(extract)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(tablePath)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Fatalf("permissions_gen.go is stale; run go generate ./internal/provider/githubapp (-want +got):\n%s", diff)
	}
}

// TestExtract_MatchesSource re-extracts from the unpacked npm package and
// create-github-app-token's action.yml when they are at hand
// (TOKENMINT_TEST_OPENAPI_DIR, TOKENMINT_TEST_CGAT_ACTION) and compares
// with the committed extract.
func TestExtract_MatchesSource(t *testing.T) {
	t.Parallel()
	dir, action := os.Getenv("TOKENMINT_TEST_OPENAPI_DIR"), os.Getenv("TOKENMINT_TEST_CGAT_ACTION")
	if dir == "" || action == "" {
		t.Skip("TOKENMINT_TEST_OPENAPI_DIR and TOKENMINT_TEST_CGAT_ACTION unset: the committed extract is not re-derived")
	}
	got, err := ExtractFrom(dir, action, "v3.1.1")
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(extractPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(want, got) {
		t.Fatalf("the committed extract differs from %s; re-run genpermissions -extract", filepath.Clean(dir))
	}
}

func TestTable_Rules(t *testing.T) {
	t.Parallel()
	const x = `{"source":{"package":"p","version":"1","schema":"s"},
"descriptions":{
 "api.github.com":{"properties":{"a":{"description":"A.","enum":["write","read"]},"b":{"description":"B.","enum":["read"]}}},
 "ghes-3.19":{"properties":{"b":{"description":"B on GHES.","enum":["write"]},"e":{"description":"E.","enum":["admin","read"]}}}},
"create-github-app-token":{"repository":"r","version":"v1","inputs":{
 "permission-a":"x Can be set to 'read'.",
 "permission-old-one":"The level of permission to grant the access token to do old things. Can be set to 'read' or 'write'."}}}`
	var ex Extract
	if err := json.Unmarshal([]byte(x), &ex); err != nil {
		t.Fatal(err)
	}
	got, err := Table(ex)
	if err != nil {
		t.Fatal(err)
	}
	want := []Permission{
		{Name: "a", Description: "A", Levels: []string{"read", "write"}, Cloud: true},
		{Name: "b", Description: "B", Levels: []string{"read", "write"}, Cloud: true, GHES: true},
		{Name: "e", Description: "E", Levels: []string{"read", "admin"}, GHES: true},
		{Name: "old_one", Description: "The level of permission to grant the access token to do old things", Levels: []string{"read", "write"}, Undocum: true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("Table (-want +got):\n%s", diff)
	}
	bad := `{"descriptions":{"api.github.com":{"properties":{"a":{"enum":["owner"]}}}}}`
	var exBad Extract
	if err := json.Unmarshal([]byte(bad), &exBad); err != nil {
		t.Fatal(err)
	}
	if _, err := Table(exBad); err == nil {
		t.Fatal("an unknown level was accepted")
	}
}
