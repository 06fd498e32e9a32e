package e2e

// Every GitHub fake this package's tests serve is checked against GitHub's
// REST description (see package ghoracle).
import _ "github.com/tokenmint/tokenmint/internal/fake/ghoracle"
