// Package shipcheck holds the tests that check what ships without running
// Docker: the Dockerfile against go.mod and action.yml, action.yml against
// config.ActionYAML (a golden file: go test ./internal/shipcheck -update
// rewrites it), and the action's declared inputs against the inputs the
// code reads.
package shipcheck
