# syntax=docker/dockerfile:1
# Build stage: static binaries, cross-compiled on the build platform.
FROM --platform=$BUILDPLATFORM golang:1.26.8-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG TARGETOS=linux
ARG TARGETARCH=amd64
ARG VERSION=dev
ENV CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH
RUN go build -trimpath -ldflags "-s -w -X github.com/tokenmint/tokenmint/internal/cli.Version=${VERSION}" -o /out/tokenmint ./cmd/tokenmint \
 && go build -trimpath -ldflags "-s -w" -o /out/entrypoint/main ./entrypoint \
 && cp /out/entrypoint/main /out/entrypoint/post

# Final stage: distroless static (CA certificates, no shell). Its default
# user is root, as the runner needs to write the file-command files; no
# USER and no WORKDIR (the runner sets --workdir).
FROM gcr.io/distroless/static-debian12
COPY --from=build /out/tokenmint /tokenmint
COPY --from=build /out/entrypoint/ /entrypoint/
ENTRYPOINT ["/tokenmint"]
