package relay

// The relay tests' fake GitHub (repository_dispatch) is checked against
// GitHub's REST description (see package ghoracle).
import _ "github.com/tokenmint/tokenmint/internal/fake/ghoracle"
