// Command genaction writes action.yml from the input table in
// internal/config, so the action's declared inputs and the code that reads
// them cannot drift apart.
//
//	go run ./internal/tools/genaction > action.yml
//	go run ./internal/tools/genaction -image docker://ghcr.io/OWNER/tokenmint:v1.2.3@sha256:… > action.yml
//
// -image replaces runs.image (default config.Image, "Dockerfile"); the
// release workflow uses it to point a release commit at the pre-built
// image.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"regexp"

	"github.com/tokenmint/tokenmint/internal/config"
)

// imageRef is what runs.image may hold: the Dockerfile, or a docker://
// reference (registry/name[:tag][@sha256:digest]).
var imageRef = regexp.MustCompile(`^(Dockerfile|docker://[a-z0-9][a-z0-9._/-]*[a-z0-9](:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?)$`)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "genaction: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("genaction", flag.ContinueOnError)
	image := fs.String("image", config.Image, "runs.image: Dockerfile or docker://REGISTRY/NAME:TAG[@sha256:DIGEST]")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return errors.New("failed to parse arguments: genaction takes no positional arguments")
	}
	if !imageRef.MatchString(*image) {
		return errors.New("failed to parse -image: must be Dockerfile or docker://REGISTRY/NAME[:TAG][@sha256:DIGEST] in lower case")
	}
	if _, err := os.Stdout.WriteString(config.ActionYAMLFor(*image)); err != nil {
		return fmt.Errorf("failed to write action.yml: %w", err)
	}
	return nil
}
