package shipcheck

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

const goodDockerfile = `# comment
FROM --platform=$BUILDPLATFORM golang:1.26.8-bookworm@sha256:aa AS build
WORKDIR /src
RUN go build -trimpath -ldflags "-s -w -X x.Version=${VERSION}" -o /out/tokenmint ./cmd/tokenmint \
 && go build -trimpath -ldflags "-s -w" -o /out/entrypoint/main ./entrypoint \
 && cp /out/entrypoint/main /out/entrypoint/post

FROM gcr.io/distroless/static-debian12
COPY --from=build /out/tokenmint /tokenmint
COPY --from=build /out/entrypoint/ /entrypoint/
ENTRYPOINT ["/tokenmint"]
`

func TestFinalFiles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		src     string
		want    map[string]string
		wantErr bool
	}{
		{
			name: "binary_and_entrypoint_directory",
			src:  goodDockerfile,
			want: map[string]string{"/tokenmint": "./cmd/tokenmint", "/entrypoint/main": "./entrypoint", "/entrypoint/post": "./entrypoint"},
		},
		{
			name: "file_into_directory_destination",
			src:  "FROM golang:1 AS b\nRUN go build -o /out/x ./cmd/x\nFROM scratch\nCOPY --from=b /out/x /bin/\n",
			want: map[string]string{"/bin/x": "./cmd/x"},
		},
		{
			name: "post_not_copied_without_cp",
			src:  "FROM golang:1 AS build\nRUN go build -o /out/entrypoint/main ./entrypoint\nFROM scratch\nCOPY --from=build /out/entrypoint/ /entrypoint/\n",
			want: map[string]string{"/entrypoint/main": "./entrypoint"},
		},
		{
			name: "from_context_has_no_package",
			src:  "FROM scratch\nCOPY tokenmint /tokenmint\n",
			want: map[string]string{"/tokenmint": ""},
		},
		{
			name:    "copy_of_a_path_never_built",
			src:     "FROM golang:1 AS build\nRUN go build -o /out/a ./a\nFROM scratch\nCOPY --from=build /out/b /b\n",
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st, err := ParseDockerfile(tt.src)
			if err != nil {
				t.Fatal(err)
			}
			got, err := FinalFiles(st)
			if (err != nil) != tt.wantErr {
				t.Fatalf("FinalFiles error = %v, wantErr %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); !tt.wantErr && diff != "" {
				t.Errorf("FinalFiles (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseDockerfile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		src        string
		wantStages []string // name|image|platform
		wantErr    bool
	}{
		{name: "two_stages", src: goodDockerfile, wantStages: []string{"build|golang:1.26.8-bookworm@sha256:aa|$BUILDPLATFORM", "|gcr.io/distroless/static-debian12|"}},
		{name: "global_arg_before_from", src: "ARG X=1\nFROM scratch\n", wantStages: []string{"||", "|scratch|"}},
		{name: "no_from", src: "RUN true\n", wantErr: true},
		{name: "dangling_continuation", src: "FROM scratch\nCOPY a \\\n", wantErr: true},
		{name: "unreadable_from", src: "FROM a b c d\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st, err := ParseDockerfile(tt.src)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error = %v, wantErr %v", err, tt.wantErr)
			}
			var got []string
			for _, s := range st {
				got = append(got, s.Name+"|"+s.Image+"|"+s.Platform)
			}
			if diff := cmp.Diff(tt.wantStages, got); diff != "" {
				t.Errorf("stages (-want +got):\n%s", diff)
			}
		})
	}
}

func TestExecForm(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		args   string
		want   []string
		wantOK bool
	}{
		{name: "exec_form", args: `["/tokenmint"]`, want: []string{"/tokenmint"}, wantOK: true},
		{name: "shell_form", args: `/tokenmint action main`},
		{name: "empty_array", args: `[]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := ExecForm(tt.args)
			if ok != tt.wantOK {
				t.Fatalf("ok = %v, want %v", ok, tt.wantOK)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
