# tokenmint's container action image. internal/shipcheck checks this file
# against go.mod and action.yml (entry points, Go version, exec form, no
# USER/WORKDIR in the final stage).
#
# Base images are pinned by tag and multi-platform index digest; Dependabot
# (docker ecosystem) moves both.

# Build stage: static binaries, cross-compiled on the build platform (no
# emulation needed for linux/arm64). BuildKit only (docker build since
# 23.0, buildx, or DOCKER_BUILDKIT=1): it sets BUILDPLATFORM, TARGETOS and
# TARGETARCH. The legacy builder sets none of them and stops at this line
# ("" is an invalid platform component); declaring ARG BUILDPLATFORM for it
# would blank BuildKit's own value in Docker 20.10. scripts/container-test.sh
# checks both facts.
FROM --platform=$BUILDPLATFORM golang:1.26.8-bookworm@sha256:a688600ca24f8a4d3ca77f95b0dd40704a9fc787c826660eb7ba0b641b8b175d AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download && go mod verify
COPY . .
# Set by BuildKit from --platform.
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=dev
ENV CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH GOFLAGS=-buildvcs=false
RUN go build -trimpath -ldflags "-s -w -X github.com/tokenmint/tokenmint/internal/cli.Version=${VERSION}" -o /out/tokenmint ./cmd/tokenmint \
 && go build -trimpath -ldflags "-s -w" -o /out/entrypoint/main ./entrypoint \
 && cp /out/entrypoint/main /out/entrypoint/post

# Final stage: distroless static (CA certificates and tzdata, no shell, no
# package manager). Its default user is root, which the runner needs to
# write the file-command files: no USER. No WORKDIR: the runner passes
# --workdir /github/workspace.
FROM gcr.io/distroless/static-debian12:latest@sha256:a9fcaedd4c9b59e12dd65d954f0b5044f19b0647a8a3712e77205df9e7b102cd
# Go loads /etc/ssl/certs/ca-certificates.crt and then every file in
# SSL_CERT_DIR (default /etc/ssl/certs), which here is that same bundle:
# parsing it twice costs about 2 ms of CPU in each phase. A step can still
# set SSL_CERT_FILE or SSL_CERT_DIR in its env to trust a private CA.
ENV SSL_CERT_DIR=/etc/ssl/certs/.none
COPY --from=build /out/tokenmint /tokenmint
COPY --from=build /out/entrypoint/ /entrypoint/
# action.yml starts the phases with --entrypoint /entrypoint/main and
# /entrypoint/post (exec'ing /tokenmint action main|post); this default
# entry point serves `docker run IMAGE mint|list|fake-server …`.
ENTRYPOINT ["/tokenmint"]
