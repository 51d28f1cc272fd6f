package dockerfile

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/soulbox/soulbox/internal/errdefs"
)

func TestParse(t *testing.T) {
	rec, err := Parse(strings.NewReader(`# a template
FROM python:3.12-slim AS app
LABEL team=data
ARG VERSION=1.2
ENV APP_ENV=dev MODE="two words"
WORKDIR /app
COPY --chown=user:user requirements.txt setup.cfg ./
RUN pip install -r requirements.txt \
    && echo done
RUN ["echo", "it's json"]
USER user
ENTRYPOINT ["python", "-m"]
CMD ["http.server", "8000"]
`))
	if err != nil {
		t.Fatal(err)
	}
	want := Recipe{
		FromImage: "python:3.12-slim",
		Steps: []Step{
			{Type: "USER", Args: []string{"root"}},
			{Type: "WORKDIR", Args: []string{"/"}},
			{Type: "ENV", Args: []string{"VERSION", "1.2"}, Line: 4},
			{Type: "ENV", Args: []string{"APP_ENV", "dev", "MODE", "two words"}, Line: 5},
			{Type: "WORKDIR", Args: []string{"/app"}, Line: 6},
			{Type: "COPY", Args: []string{"requirements.txt", "./", "user:user", ""}, Line: 7},
			{Type: "COPY", Args: []string{"setup.cfg", "./", "user:user", ""}, Line: 7},
			{Type: "RUN", Args: []string{"pip install -r requirements.txt     && echo done"}, Line: 8},
			{Type: "RUN", Args: []string{`echo 'it'\''s json'`}, Line: 10},
			{Type: "USER", Args: []string{"user"}, Line: 11},
		},
		StartCmd: "python -m http.server 8000",
	}
	if d := cmp.Diff(want, rec); d != "" {
		t.Errorf("recipe (-want +got):\n%s", d)
	}
}

func TestParseWithoutFromUsesE2BBase(t *testing.T) {
	rec, err := Parse(strings.NewReader("RUN true\n"))
	if err != nil || rec.FromImage != DefaultImage {
		t.Errorf("%+v, %v", rec, err)
	}
	// Steps run as root in /, sandboxes as user in /home/user, as E2B's
	// SDKs arrange for Dockerfiles.
	want := []Step{
		{Type: "USER", Args: []string{"root"}}, {Type: "WORKDIR", Args: []string{"/"}},
		{Type: "RUN", Args: []string{"true"}, Line: 1},
		{Type: "USER", Args: []string{"user"}}, {Type: "WORKDIR", Args: []string{"/home/user"}},
	}
	if d := cmp.Diff(want, rec.Steps); d != "" {
		t.Errorf("steps (-want +got):\n%s", d)
	}
}

func TestParseRefuses(t *testing.T) {
	for name, tc := range map[string]struct{ file, want string }{
		"syntax":      {"FROM alpine\nENV FOO\n", "ENV must have two arguments"},
		"unknown":     {"FROM alpine\nFROBNICATE now\n", "line 2: FROBNICATE is not supported"},
		"healthcheck": {"FROM alpine\n\nHEALTHCHECK CMD true\n", "line 3: HEALTHCHECK is not supported"},
		"multi-stage": {"FROM alpine AS a\nFROM debian\n", "line 2: multi-stage"},
		"copy from":   {"FROM alpine\nCOPY --from=a /x /y\n", "line 2: COPY --from"},
		"add url":     {"FROM alpine\nADD https://example.com/x /x\n", "line 2: ADD from a URL"},
		"run mount":   {"FROM alpine\nRUN --mount=type=cache,target=/x true\n", "line 2: RUN flags"},
		"empty":       {"", ""},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tc.file))
			if !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%v, want an invalid argument with %q", err, tc.want)
			}
		})
	}
}
