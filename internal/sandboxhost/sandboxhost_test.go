package sandboxhost

import "testing"

func TestParsePort(t *testing.T) {
	for s, want := range map[string]int{"1": 1, "80": 80, "49999": 49999, "65535": 65535,
		"0": 0, "65536": 0, "99999999999999999999": 0, "080": 0, "00080": 0, "+80": 0, "-1": 0, "": 0, "8o": 0, " 80": 0} {
		got, ok := ParsePort(s)
		if got != want || ok != (want != 0) {
			t.Errorf("ParsePort(%q) = %d, %v; want %d", s, got, ok, want)
		}
	}
}

func TestSplitLabel(t *testing.T) {
	for _, tc := range []struct{ label, port, id string }{
		{"8080-abc", "8080", "abc"},
		{"0-abc", "0", "abc"},
		{"x-abc", "", ""},
		{"8080-", "", ""},
		{"-abc", "", ""},
		{"8080abc", "", ""},
	} {
		port, id, ok := SplitLabel(tc.label)
		if port != tc.port || id != tc.id || ok != (tc.port != "") {
			t.Errorf("SplitLabel(%q) = %q, %q, %v", tc.label, port, id, ok)
		}
	}
}
