package repo

import (
	"fmt"
	"unicode/utf8"
)

// A CHECKed column's rule is declared once, where the feature's methods
// call it, and is both the check they call before sending anything and the
// column's entry in goValidators, which FuzzChecksAgree compares with the
// column's CHECKs (keep the two saying the same):
//
//	var checkNote = optionalText("post_revisions.note", "note", 500)
//
// column is "table.column"; field names the input in the *FieldError.

// declaredRules are the rules declared so; init adds them to goValidators
// (a map of their own: goValidators' entries call checks declared here, and
// a package-level var cannot depend on itself).
var declaredRules = map[string]func(v any) (any, error){}

func init() {
	for column, rule := range declaredRules {
		if _, dup := goValidators[column]; dup {
			panic("repo: " + column + " has a rule and an entry in goValidators: keep one")
		}
		goValidators[column] = rule
	}
}

// requiredText is the check of a text column that must not be blank: valid
// UTF-8 without NUL, some non-blank character, at most maxLen characters.
func requiredText(column, field string, maxLen int) func(string) error {
	return declareRule(column, func(v string) error { return checkRequired(field, v, maxLen) })
}

// optionalText is the check of a text column that may be blank: valid UTF-8
// without NUL, at most maxLen characters.
func optionalText(column, field string, maxLen int) func(string) error {
	return declareRule(column, func(v string) error {
		if err := checkText(field, v); err != nil {
			return err
		}
		if utf8.RuneCountInString(v) > maxLen {
			return invalid(field, v, fmt.Sprintf("is longer than %d characters", maxLen))
		}
		return nil
	})
}

// inRange is the check of a number column bounded by lo and hi, both
// allowed (NaN is out of every range).
func inRange[T int16 | int32 | int64 | float64](column, field string, lo, hi T) func(T) error {
	return declareRule(column, func(v T) error {
		if !(v >= lo && v <= hi) {
			return invalid(field, fmt.Sprint(v), fmt.Sprintf("must be between %v and %v", lo, hi))
		}
		return nil
	})
}

// declareRule declares a rule the helpers above cannot say: check is the
// column's Go check, returned for the methods to call and registered for
// FuzzChecksAgree. Two rules for one column panic.
func declareRule[T any](column string, check func(T) error) func(T) error {
	if _, dup := declaredRules[column]; dup {
		panic("repo: two rules declared for " + column)
	}
	declaredRules[column] = func(v any) (any, error) { return v, check(v.(T)) }
	return check
}
