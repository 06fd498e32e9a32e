package shipcheck

// Tests here serve the fake-server (GitHub fakes included), checked against
// GitHub's REST description (see package ghoracle).
import _ "github.com/tokenmint/tokenmint/internal/fake/ghoracle"
