package config

import "regexp"

// scopeLike is what an error may quote of a scope item: short and plain,
// so a secret pasted into scopes by mistake is named by position instead.
var scopeLike = regexp.MustCompile(`^[A-Za-z0-9:._/-]{1,24}$`)
