package main

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const tiny = `{
 "openapi": "3.0.3", "info": {"title": "t", "version": "1"},
 "paths": {
  "/a/{x}": {
   "parameters": [{"$ref": "#/components/parameters/x"}],
   "get": {"responses": {"200": {"description": "ok", "content": {"application/json": {
     "schema": {"$ref": "#/components/schemas/a"},
     "examples": {"default": {"$ref": "#/components/examples/a"}}}}}}},
   "delete": {"responses": {"204": {"description": "gone"}}}
  },
  "/b": {"get": {"responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/unused"}}}}}}}
 },
 "components": {
  "parameters": {"x": {"name": "x", "in": "path", "required": true, "schema": {"type": "string"}}},
  "schemas": {
   "a": {"type": "object", "example": {"id": 1}, "properties": {"id": {"type": "integer"}, "example": {"$ref": "#/components/schemas/b~1c"}}},
   "b/c": {"type": "string"},
   "unused": {"type": "string"}
  },
  "examples": {"a": {"value": {"id": 1}}}
 }
}`

func TestExtract(t *testing.T) {
	t.Parallel()
	doc, err := Extract([]byte(tiny), []string{"GET /a/{x}", "PUT /nowhere"})
	if err != nil {
		t.Fatal(err)
	}
	paths := doc["paths"].(map[string]any)
	if _, ok := paths["/b"]; ok {
		t.Errorf("an operation that was not asked for was extracted")
	}
	a := paths["/a/{x}"].(map[string]any)
	if _, ok := a["delete"]; ok {
		t.Errorf("DELETE /a/{x} was extracted without being asked for")
	}
	if _, ok := a["parameters"]; !ok {
		t.Errorf("path-level parameters were dropped")
	}
	comp := doc["components"].(map[string]any)
	var got []string
	for kind, m := range comp {
		for name := range m.(map[string]any) {
			got = append(got, kind+"/"+name)
		}
	}
	want := []string{"parameters/x", "schemas/a", "schemas/b/c"}
	if diff := cmp.Diff(want, sortStrings(got)); diff != "" {
		t.Errorf("components (-want +got):\n%s", diff)
	}
	schemaA := comp["schemas"].(map[string]any)["a"].(map[string]any)
	if _, ok := schemaA["example"]; ok {
		t.Errorf("example values were kept")
	}
	if _, ok := schemaA["properties"].(map[string]any)["example"]; !ok {
		t.Errorf("a property named example was dropped")
	}
	if diff := cmp.Diff([]string{"PUT /nowhere"}, doc["x-tokenmint-absent"]); diff != "" {
		t.Errorf("absent (-want +got):\n%s", diff)
	}
	if err := apply(doc, Patch{Pointer: "/components/schemas/b~1c/type", Value: "integer"}); err != nil {
		t.Fatal(err)
	}
	if got := comp["schemas"].(map[string]any)["b/c"].(map[string]any)["type"]; got != "integer" {
		t.Errorf("patched type = %v", got)
	}
	if err := apply(doc, Patch{Pointer: "/components/schemas/nope/type", Value: "x"}); err == nil {
		t.Errorf("a patch of a missing member succeeded")
	}
}

func sortStrings(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}
