package codes

import (
	"errors"
	"testing"
)

func TestEveryCodeHasANameAndItsOwnSentinel(t *testing.T) {
	s := NewSentinels("p")
	if _, ok := Name(0); ok {
		t.Error("0 (OK) has a name")
	}
	if _, ok := Name(int32(len(table))); ok {
		t.Error("a number past the table has a name")
	}
	seen := map[error]bool{}
	for code := int32(1); code < int32(len(table)); code++ {
		if name, ok := Name(code); !ok || name == "" {
			t.Errorf("code %d has no name", code)
		}
		if s[code] == nil || seen[s[code]] {
			t.Errorf("code %d has no sentinel of its own", code)
		}
		seen[s[code]] = true
		if !s.Is(code, s[code]) || s.Is(code, errors.New(s[code].Error())) {
			t.Errorf("code %d: Is does not compare by identity", code)
		}
	}
	if s.Is(0, nil) || s.Is(-1, s[1]) || s.Is(int32(len(table)), s[1]) {
		t.Error("Is matches outside the table")
	}
	if s[6].Error() != "p: not found" {
		t.Errorf("sentinel text %q", s[6].Error())
	}
}
