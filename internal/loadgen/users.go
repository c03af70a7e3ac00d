package loadgen

import (
	"errors"
	"fmt"
	"strings"
)

// Users is a generated list of accounts that share one password:
// Pattern with %d replaced by First, First+1, ... First+Count-1.
type Users struct {
	Pattern  string // "user%d@example.org"
	First    int
	Count    int
	Password string
}

// Check reports a pattern or count that cannot work.
func (u Users) Check() error {
	if strings.Count(u.Pattern, "%d") != 1 || strings.Count(u.Pattern, "%") != 1 {
		return fmt.Errorf("user pattern %q must contain %%d exactly once and no other %%", u.Pattern)
	}
	if u.Count < 1 {
		return errors.New("the user count must be at least 1")
	}
	if u.First < 0 {
		return errors.New("the first user number must not be negative")
	}
	if u.Password == "" {
		return errors.New("a password is needed")
	}
	if strings.ContainsAny(u.Pattern+u.Password, "\r\n\x00") {
		return errors.New("user names and passwords must not contain CR, LF or NUL")
	}
	return nil
}

// Name returns the i-th user name, i counted from 0 and taken modulo
// Count.
func (u Users) Name(i int) string {
	if i < 0 {
		i = -i
	}
	return fmt.Sprintf(u.Pattern, u.First+i%u.Count)
}
