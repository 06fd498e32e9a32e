// Command genaction writes action.yml from the input table in
// internal/config, so the action's declared inputs and the code that reads
// them cannot drift apart. Run: go run ./internal/tools/genaction > action.yml
package main

import (
	"fmt"
	"os"

	"github.com/tokenmint/tokenmint/internal/config"
)

func main() {
	if _, err := os.Stdout.WriteString(config.ActionYAML()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
