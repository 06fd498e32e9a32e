//go:build race

package relay

// raceEnabled: the race detector multiplies memory use, so RSS bounds are
// not measured under it.
const raceEnabled = true
