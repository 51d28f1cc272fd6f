package oci

import "testing"

func TestParseCRIUVersion(t *testing.T) {
	for _, tc := range []struct {
		out    string
		want   [2]int
		wantOK bool
		recent bool
	}{
		{"Version: 4.2.1\n", [2]int{4, 2}, true, true},
		{"Version: 4.1.1\n", [2]int{4, 1}, true, false},
		{"Version: 3.17.1\n", [2]int{3, 17}, true, false},
		{"Version: 5.0\nGitID: v5.0\n", [2]int{5, 0}, true, true},
		{"Version: 4.2-rc1\n", [2]int{4, 2}, true, true},
		{"criu: command not found", [2]int{}, false, false},
		{"Version: four\n", [2]int{}, false, false},
	} {
		got, err := parseCRIUVersion(tc.out)
		if (err == nil) != tc.wantOK || got != tc.want {
			t.Errorf("parseCRIUVersion(%q) = %v, %v; want %v, ok %v", tc.out, got, err, tc.want, tc.wantOK)
		}
		if err == nil && versionAtLeast(got, criuMinVersion) != tc.recent {
			t.Errorf("%q: recent enough = %v, want %v", tc.out, !tc.recent, tc.recent)
		}
	}
}
