package repo

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The same rules as the schema's CHECK constraints, checked before any round
// trip so that the error names the field and the value. The schema stays the
// backstop for anyone writing to the tables without us.
const (
	MaxNameLen    = 200  // users_name_length
	MinAge        = 0    // users_age_range
	MaxAge        = 150  // users_age_range
	MaxEmailLen   = 254  // addresses_email_shape
	MaxTitleLen   = 300  // posts_title_length
	MaxRating     = 5.0  // posts_rating_range
	MaxBioLen     = 2000 // profiles_bio_length
	MaxTagNameLen = 50   // tags_name_shape
)

var (
	emailShape   = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`) // addresses_email_shape
	tagShape     = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,49}$`)  // tags_name_shape
	websiteShape = regexp.MustCompile(`^https?://\S+$`)             // profiles_website_shape
)

// checkText rejects what PostgreSQL's text type cannot store.
func checkText(field, value string) error {
	if !utf8.ValidString(value) {
		return invalid(field, strings.ToValidUTF8(value, "\uFFFD"), "is not valid UTF-8")
	}
	if strings.ContainsRune(value, 0) {
		return invalid(field, strings.ReplaceAll(value, "\x00", `\x00`), "contains a NUL byte")
	}
	return nil
}

func checkRequired(field, value string, maxLen int) error {
	if err := checkText(field, value); err != nil {
		return err
	}
	if strings.TrimSpace(value) == "" {
		return invalid(field, value, "must not be blank")
	}
	if utf8.RuneCountInString(value) > maxLen {
		return invalid(field, value, "is longer than "+strconv.Itoa(maxLen)+" characters")
	}
	return nil
}

func checkName(name string) error { return checkRequired("name", name, MaxNameLen) }

func checkAge(age int32) error {
	if age < MinAge || age > MaxAge {
		return invalid("age", strconv.Itoa(int(age)), "must be between 0 and 150")
	}
	return nil
}

func checkEmail(email string) error {
	if err := checkText("email", email); err != nil {
		return err
	}
	if len(email) > MaxEmailLen {
		return invalid("email", email, "is longer than 254 bytes")
	}
	if !emailShape.MatchString(email) {
		return invalid("email", email, "must look like name@example.com")
	}
	return nil
}

func checkRating(rating float64) error {
	if math.IsNaN(rating) || rating < 0 || rating > MaxRating {
		return invalid("rating", strconv.FormatFloat(rating, 'g', -1, 64), "must be between 0 and 5")
	}
	return nil
}

// normalizeTag lower-cases and trims a tag name, then checks its shape.
func normalizeTag(name string) (string, error) {
	if err := checkText("tag", name); err != nil {
		return "", err
	}
	norm := normalizedTag(name)
	if !tagShape.MatchString(norm) {
		return "", invalid("tag", name, "must be 1 to 50 letters, digits or dashes, starting with a letter or digit")
	}
	return norm, nil
}

func checkBio(bio string) error {
	if err := checkText("bio", bio); err != nil {
		return err
	}
	if utf8.RuneCountInString(bio) > MaxBioLen {
		return invalid("bio", bio, "is longer than 2000 characters")
	}
	return nil
}

func normalizedTag(name string) string { return strings.ToLower(strings.TrimSpace(name)) }

func checkWebsite(website *string) error {
	if website == nil {
		return nil
	}
	if err := checkText("website", *website); err != nil {
		return err
	}
	if !websiteShape.MatchString(*website) {
		return invalid("website", *website, "must be an http:// or https:// URL")
	}
	return nil
}
